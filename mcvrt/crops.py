"""The best crop of every tracklet: gathered in one decoding pass per camera and stored in the run
folder (``crops.npz``), so that the gallery, the report and `mcvrt rematch` show vehicles without
decoding the videos again.

Crops are keyed by tracklet (camera id, per-camera track id), which a re-association keeps, and
stored as JPEG bytes (longest side at most `CROP_SIDE`): what the report embeds as is.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mcvrt.appearance import crop
from mcvrt.export import atomic_write
from mcvrt.types import Camera, Tracklet, TrackletKey
from mcvrt.video import read_frames

CROPS = "crops.npz"
CROP_SIDE = 128  # longest side of a stored crop, pixels
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Crop:
    """One tracklet's best view: its frame, the box's quality and the JPEG-encoded pixels."""

    frame: int
    quality: float  # confidence * sqrt(box area), the tracklet embedding's weight of this box
    jpeg: bytes

    def image(self) -> np.ndarray:
        """The crop as a BGR image."""
        return cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)


def _best_box(t: Tracklet) -> tuple[float, int, np.ndarray]:
    """(quality, frame, xyxy) of the tracklet's highest-quality box."""
    area = (t.xyxy[:, 2] - t.xyxy[:, 0]) * (t.xyxy[:, 3] - t.xyxy[:, 1])
    quality = t.confidence * np.sqrt(np.maximum(area, 0))
    i = int(np.argmax(quality))
    return float(quality[i]), int(t.frames[i]), t.xyxy[i]


def _frames(camera: Camera, wanted: set[int]) -> dict[int, np.ndarray]:
    """Decode `camera` once (past damaged parts, frames numbered as tracking saw them), keeping
    only the frame indices in `wanted`."""
    frames = read_frames(camera, max_frames=max(wanted, default=-1) + 1)
    return {f.index: f.image for f in frames if f.index in wanted}


def _encode(image: np.ndarray) -> bytes:
    """`image` shrunk to at most CROP_SIDE on its longest side, as JPEG bytes."""
    scale = min(1.0, CROP_SIDE / max(image.shape[:2]))
    if scale < 1.0:
        size = (max(round(image.shape[1] * scale), 1), max(round(image.shape[0] * scale), 1))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


def tracklet_crops(cameras: Sequence[Camera], tracklets: Sequence[Tracklet]
                   ) -> dict[TrackletKey, Crop]:
    """Each tracklet's highest-quality box, cut from its frame; one decoding pass per camera.

    A tracklet whose frame cannot be decoded or whose box lies outside it gets no crop.
    """
    crops: dict[TrackletKey, Crop] = {}
    for camera in cameras:
        best = {t.key: _best_box(t) for t in tracklets if t.camera_id == camera.id}
        images = _frames(camera, {frame for _, frame, _ in best.values()})
        for key, (quality, frame, box) in best.items():
            pixels = crop(images[frame], box) if frame in images else np.zeros((0, 0, 3))
            if pixels.size:
                crops[key] = Crop(frame, quality, _encode(pixels))
    return crops


def best_per_identity(crops: Mapping[TrackletKey, Crop], global_ids: Mapping[TrackletKey, int]
                      ) -> dict[tuple[int, str], Crop]:
    """(global id, camera id) -> the highest-quality crop of that identity in that camera."""
    best: dict[tuple[int, str], Crop] = {}
    for key, c in crops.items():
        slot = (global_ids[key], key[0])
        if slot not in best or c.quality > best[slot].quality:
            best[slot] = c
    return best


def save_crops(path: Path, crops: Mapping[TrackletKey, Crop]) -> Path:
    """Write `crops` to `path` (npz: per-crop key, frame, quality and JPEG length, and all JPEG
    bytes concatenated, as `tracklets.npz` stores its per-frame arrays), atomically."""
    keys = sorted(crops)
    data = [crops[k].jpeg for k in keys]
    with atomic_write(path, "wb") as f:
        np.savez(
            f,
            camera_id=np.array([k[0] for k in keys], dtype=str),
            track_id=np.array([k[1] for k in keys], np.int64),
            frame=np.array([crops[k].frame for k in keys], np.int64),
            quality=np.array([crops[k].quality for k in keys], np.float64),
            length=np.array([len(d) for d in data], np.int64),
            jpeg=np.frombuffer(b"".join(data), np.uint8),
        )
    return path


def load_crops(path: Path) -> dict[TrackletKey, Crop]:
    """What `save_crops` wrote; empty when `path` does not exist (a run without crops)."""
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as npz:
        a = {name: npz[name] for name in npz.files}
    ends = np.cumsum(a["length"])
    jpeg = a["jpeg"].tobytes()
    return {
        (str(cam), int(tid)): Crop(int(frame), float(quality), jpeg[end - n : end])
        for cam, tid, frame, quality, n, end in zip(
            a["camera_id"], a["track_id"], a["frame"], a["quality"], a["length"], ends,
            strict=True)
    }


def copy_crops(run_dir: Path, out_dir: Path) -> list[Path]:
    """Copy a run's crops into `out_dir` (a re-association keeps the tracklets); the paths
    written (none when the run has no crops or `out_dir` is `run_dir`)."""
    source, target = run_dir / CROPS, out_dir / CROPS
    if not source.is_file() or (target.exists() and target.samefile(source)):
        return []
    with source.open("rb") as src, atomic_write(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return [target]
