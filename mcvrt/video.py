"""Video input: probe files into `Camera` records (fail fast), then iterate `Frame`s.

The probe is cheap (header and first frame); frame counts come from reading, not from the
container header, which can lie (`street_overhead_640x360.mp4` claims 754 frames; 734 decode).
Reading survives damage as ffmpeg's tools do: after a failed read it seeks past the damaged part
and goes on, numbering the frames after a gap by the stream's timestamps, so their times stay
true to the video; `VideoReader.camera` then records what decoded and what was lost.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import cv2

from mcvrt.errors import InputError
from mcvrt.types import Camera, Frame, FrameRange

MAX_SEEKS = 40  # seeks to get past one damaged part (doubling, then bisecting back)
def expand_videos(patterns: Sequence[str]) -> list[Path]:
    """Expand files and glob patterns in order; a pattern matching nothing is an error."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"no video matches {pattern!r}")
        paths.extend(Path(m) for m in matches)
    return paths


def probe_camera(
    path: Path,
    camera_id: str | None = None,
    time_offset_s: float = 0.0,
    max_frames: int | None = None,
) -> Camera:
    """Open `path`, read fps, size and the claimed frame count, decode the first frame (past
    damage if need be); raise InputError if the video is unusable."""
    if not path.is_file():
        raise InputError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    opened = cap.isOpened()
    fps = cap.get(cv2.CAP_PROP_FPS)
    claimed = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    cap.release()
    if not opened:
        raise InputError(f"cannot read video: {path} (OpenCV decodes no frame from it)")
    if not fps or fps != fps or fps <= 0:  # NaN-safe
        raise InputError(f"video has no usable frame rate: {path}")
    camera = Camera(
        id=camera_id or path.stem,
        path=path,
        fps=float(fps),
        frame_count=min(claimed, max_frames) if max_frames is not None else claimed,
        size_wh=(0, 0),
        time_offset_s=time_offset_s,
        claimed_frames=claimed,
    )
    first = next(iter(VideoReader(camera, max_frames=max_frames)), None)
    if first is None:
        raise InputError(f"cannot read video: {path} (OpenCV decodes no frame from it)")
    height, width = first.image.shape[:2]
    return replace(camera, size_wh=(width, height))


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


class VideoReader:
    """The frames of one camera's video, every `stride`-th among the first `max_frames`.

    A failed read is not the end while the container claims more frames: the reader seeks
    forward (by doubling skips, then bisecting back to the first frame that decodes, at most
    `MAX_SEEKS` seeks per damaged part) and numbers the frame it lands on by the stream's
    timestamp. Iterate once; then `camera` holds the decoded count and the skipped ranges.
    """

    def __init__(self, camera: Camera, stride: int = 1, max_frames: int | None = None) -> None:
        self._source, self._stride, self._max_frames = camera, stride, max_frames
        self._decoded = 0
        self._skipped: list[FrameRange] = []

    @property
    def camera(self) -> Camera:
        """The camera with what reading found: frames decoded, ranges lost to damage."""
        return replace(self._source, frame_count=self._decoded, skipped=tuple(self._skipped))

    def __iter__(self) -> Iterator[Frame]:
        camera, limit = self._source, self._max_frames
        cap = cv2.VideoCapture(str(camera.path))
        try:
            index, msec = -1, 0.0  # the last frame grabbed and its timestamp
            while limit is None or index + 1 < limit:
                if cap.grab():
                    index += 1
                else:
                    landed = self._resync(cap, index, msec)
                    if landed is None or (limit is not None and landed >= limit):
                        break
                    self._skipped.append((index + 1, landed - 1))
                    index = landed
                msec = cap.get(cv2.CAP_PROP_POS_MSEC)
                self._decoded += 1
                if index % self._stride == 0:
                    ok, image = cap.retrieve()
                    if ok:
                        yield Frame(index, index / camera.fps + camera.time_offset_s, image)
        finally:
            cap.release()

    def _resync(self, cap: cv2.VideoCapture, last: int, msec: float) -> int | None:
        """After a failed read past frame `last` (timestamp `msec`), grab the first frame that
        decodes after the damage; its index, or None at the end of the video."""
        end = self._source.claimed_frames
        if self._max_frames is not None:
            end = min(end, self._max_frames) if end else self._max_frames
        if end and last + 1 >= end:
            return None  # the claimed end: nothing was lost

        def landed(skip: int) -> int | None:
            cap.set(cv2.CAP_PROP_POS_FRAMES, last + 1 + skip)
            if not cap.grab():
                return None
            at = last + round((cap.get(cv2.CAP_PROP_POS_MSEC) - msec) * self._source.fps / 1000)
            return at if at > last else None  # a seek can land before the damage

        skip = first_good(lambda k: landed(k) is not None, end - last - 2 if end else None)
        return None if skip is None else landed(skip)


def first_good(works: Callable[[int], bool], max_skip: int | None, seeks: int = MAX_SEEKS
               ) -> int | None:
    """The smallest skip in 1..`max_skip` (None: unbounded) for which `works` holds, assuming
    it holds from some skip on: doubling up to a working skip, then bisecting back; at most
    `seeks` calls. None when no skip worked within them."""
    bad, good, skip = 0, None, 1
    while good is None and seeks > 0:
        skip = skip if max_skip is None else min(skip, max_skip)
        if skip <= bad:
            return None  # max_skip tried
        seeks -= 1
        if works(skip):
            good = skip
        else:
            bad, skip = skip, 2 * skip
    while good is not None and good - bad > 1 and seeks > 0:
        mid = (bad + good) // 2
        seeks -= 1
        bad, good = (bad, mid) if works(mid) else (mid, good)
    return good


def read_frames(camera: Camera, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
    """Yield every `stride`-th decoded frame among the first `max_frames` (BGR uint8), past
    damaged parts (`VideoReader`)."""
    return iter(VideoReader(camera, stride, max_frames))
