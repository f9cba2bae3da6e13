"""Video input: probe files into `Camera` records (fail fast), then iterate `Frame`s.

Frame counts come from decoding, not from the container header, which can lie
(`street_overhead_640x360.mp4` claims 754 frames; 734 decode).
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2

from mcvrt.errors import InputError
from mcvrt.types import Camera, Frame


def expand_videos(patterns: Sequence[str]) -> list[Path]:
    """Expand files and glob patterns in order; a pattern matching nothing is an error."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"no video matches {pattern!r}")
        paths.extend(Path(m) for m in matches)
    return paths


def count_frames(path: Path, limit: int | None = None) -> int:
    """Number of frames that actually decode (grab only, no colour conversion), up to `limit`."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while (limit is None or n < limit) and cap.grab():
        n += 1
    cap.release()
    return n


def probe_camera(
    path: Path,
    camera_id: str | None = None,
    time_offset_s: float = 0.0,
    max_frames: int | None = None,
) -> Camera:
    """Open `path`, read fps and size, count decodable frames; raise InputError if unusable."""
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    ok, image = cap.read() if cap.isOpened() else (False, None)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    if not ok or image is None:
        raise InputError(f"cannot read video: {path} (OpenCV decodes no frame from it)")
    if not fps or fps != fps or fps <= 0:  # NaN-safe
        raise InputError(f"video has no usable frame rate: {path}")
    height, width = image.shape[:2]
    return Camera(
        id=camera_id or path.stem,
        path=path,
        fps=float(fps),
        frame_count=count_frames(path, max_frames),
        size_wh=(width, height),
        time_offset_s=time_offset_s,
    )


def probe_cameras(
    paths: Sequence[Path],
    camera_ids: Sequence[str] | None = None,
    time_offsets_s: Sequence[float] | None = None,
    max_frames: int | None = None,
) -> list[Camera]:
    """Probe every video before any heavy work; camera ids default to the file stems."""
    if not paths:
        raise InputError("no videos given")
    for name, values in (("--camera-ids", camera_ids), ("--time-offsets", time_offsets_s)):
        if values is not None and len(values) != len(paths):
            raise InputError(f"{name} has {len(values)} values for {len(paths)} videos")
    ids = list(camera_ids) if camera_ids is not None else [p.stem for p in paths]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            raise InputError(f"camera ids must be unique; {cid!r} appears twice (use --camera-ids)")
        seen.add(cid)
    offsets = list(time_offsets_s) if time_offsets_s is not None else [0.0] * len(paths)
    return [probe_camera(p, c, o, max_frames) for p, c, o in zip(paths, ids, offsets, strict=True)]


def read_frames(camera: Camera, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
    """Yield every `stride`-th decoded frame among the first `max_frames` (BGR uint8)."""
    cap = cv2.VideoCapture(str(camera.path))
    try:
        index = 0
        while max_frames is None or index < max_frames:
            if index % stride == 0:
                ok, image = cap.read()
                if not ok:
                    break
                yield Frame(index, index / camera.fps + camera.time_offset_s, image)
            elif not cap.grab():
                break
            index += 1
    finally:
        cap.release()
