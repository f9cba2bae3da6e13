"""What a person would rather look at than read: annotated videos and an identity gallery.

Reads finished results (cameras, tracklets, global ids, the stored crops); the videos are decoded
again only for the annotated copies. It returns nothing to the pipeline.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from mcvrt.crops import Crop
from mcvrt.export import atomic_write
from mcvrt.types import Camera, Tracklet
from mcvrt.video import read_frames

CELL = 112  # gallery cell size in pixels
MAX_GALLERY_ROWS = 60


def color_for(global_id: int) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per identity (golden-ratio hue steps)."""
    hue = int((global_id * 0.618033988749895 % 1.0) * 179)
    hsv = np.uint8([[[hue, 200, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _boxes_by_frame(tracklets: Sequence[Tracklet], global_ids: dict) -> dict[int, list]:
    """frame index -> [(xyxy, track_id, global_id)] for one camera's tracklets."""
    rows: dict[int, list] = defaultdict(list)
    for t in tracklets:
        for frame, box in zip(t.frames, t.xyxy, strict=True):
            rows[int(frame)].append((box, t.track_id, global_ids[t.key]))
    return rows


def write_gallery(
    path: Path, camera_ids: Sequence[str], crops: Mapping[tuple[int, str], Crop]
) -> Path:
    """One row per identity (multi-camera ones first), one column per camera; `crops` holds
    each identity's best crop per camera (`mcvrt.crops.best_per_identity`)."""
    cams_of: dict[int, set[str]] = defaultdict(set)
    for gid, cam in crops:
        cams_of[gid].add(cam)
    order = sorted(cams_of, key=lambda g: (-len(cams_of[g]), g))[:MAX_GALLERY_ROWS]
    canvas = np.full((max(len(order), 1) * CELL, (len(camera_ids) + 1) * CELL, 3), 255, np.uint8)
    for col, camera in enumerate(camera_ids, start=1):
        cv2.putText(canvas, camera[:14], (col * CELL + 2, 12),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    for row, gid in enumerate(order):
        cv2.putText(canvas, f"id {gid}", (4, row * CELL + CELL // 2),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, color_for(gid), 2)
        for col, camera in enumerate(camera_ids, start=1):
            if (gid, camera) in crops:
                _paste(canvas, row, col, crops[(gid, camera)].image())
    _, data = cv2.imencode(".png", canvas)
    with atomic_write(path, mode="wb") as f:
        f.write(data.tobytes())
    return path


def _paste(canvas: np.ndarray, row: int, col: int, image: np.ndarray) -> None:
    """Letterbox `image` into gallery cell (row, col), below the header line."""
    if image.size == 0:
        return
    inner = CELL - 16
    scale = inner / max(image.shape[:2])
    h, w = max(int(image.shape[0] * scale), 1), max(int(image.shape[1] * scale), 1)
    y, x = row * CELL + 14 + (inner - h) // 2, col * CELL + (CELL - w) // 2
    canvas[y : y + h, x : x + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def write_videos(
    out_dir: Path, cameras: Sequence[Camera], tracklets: Sequence[Tracklet], global_ids: dict,
    max_frames: int | None = None,
) -> list[Path]:
    """Per camera, an MP4 of the first `max_frames` decoded frames with box, track id and
    global id drawn."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for camera in cameras:
        rows = _boxes_by_frame([t for t in tracklets if t.camera_id == camera.id], global_ids)
        path = out_dir / f"{camera.id}.mp4"
        fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".mp4")  # writer needs a video suffix
        os.close(fd)
        try:
            _write_video(Path(tmp), camera, rows, max_frames)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(path)
    return written


def _write_video(path: Path, camera: Camera, rows: dict[int, list],
                 max_frames: int | None) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), camera.fps, camera.size_wh)
    for frame in read_frames(camera, 1, max_frames):
        image = frame.image
        for box, track_id, gid in rows.get(frame.index, []):
            x1, y1, x2, y2 = (int(v) for v in box)
            cv2.rectangle(image, (x1, y1), (x2, y2), color_for(gid), 2)
            cv2.putText(image, f"G{gid} t{track_id}", (x1, max(y1 - 4, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, color_for(gid), 2)
        cv2.putText(image, f"{camera.id} #{frame.index}", (6, 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
