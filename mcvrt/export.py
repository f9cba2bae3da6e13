"""Result files, each written atomically: an interrupted run never leaves a half-written file.

Conventions shared by the writers:
  * `write_tracks_csv` keeps ``frame`` as the 0-based frame index in the video (as in
    `Tracklet.frames`); the MOTChallenge and AI City files use 1-based frame numbers.
  * Boxes are written as top-left x, y and width, height in pixels.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from mcvrt.types import Tracklet, TrackletKey

CLASS_NAMES = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}  # COCO ids
TRACKS_HEADER = ("camera_id", "frame", "time_s", "track_id", "global_id",
                 "x", "y", "w", "h", "confidence", "class")


@contextmanager
def atomic_write(path: str | Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """Write `path` through a temporary file next to it that replaces it when the block ends.

    The file is UTF-8 text written as given (no newline translation), or bytes with
    ``mode="wb"``. On an exception the temporary file is removed and any previous `path` is
    left untouched. The finished file gets permissions 0o644.
    """
    path = Path(path)
    text = mode == "w"
    tmp = tempfile.NamedTemporaryFile(
        mode, encoding="utf-8" if text else None, newline="" if text else None,
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
    )
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)
    except BaseException:
        os.unlink(tmp.name)
        raise


def write_tracks_csv(path: str | Path, tracklets: Sequence[Tracklet],
                     global_ids: dict[TrackletKey, int]) -> None:
    """One row per box of every camera, sorted by camera, frame, track id.

    Columns `TRACKS_HEADER`: ``frame`` is 0-based, ``time_s`` = frame / fps + camera offset
    (3 decimals), boxes 2 decimals, confidence 3 decimals, ``class`` a name (car, motorcycle,
    bus, truck) or else the COCO id. The keys of the tracklets' `extra` (e.g. condition
    with `--reid auto`), sorted, follow as extra columns; a tracklet without one leaves it empty.
    """
    extra = sorted({k for t in tracklets for k in t.extra})
    rows = []
    for t in tracklets:
        name = CLASS_NAMES.get(t.class_id, str(t.class_id))
        tail = tuple(t.extra.get(k, "") for k in extra)
        for frame, (x, y, w, h), conf in _boxes(t):
            time_s = frame / t.fps + t.time_offset_s
            rows.append((t.camera_id, frame, f"{time_s:.3f}", t.track_id, global_ids[t.key],
                         f"{x:.2f}", f"{y:.2f}", f"{w:.2f}", f"{h:.2f}", f"{conf:.3f}", name,
                         *tail))
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    with atomic_write(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow((*TRACKS_HEADER, *extra))
        writer.writerows(rows)


def write_mot(path: str | Path, tracklets: Sequence[Tracklet]) -> None:
    """MOTChallenge file for one camera: ``frame,id,x,y,w,h,conf,-1,-1,-1``, frames 1-based."""
    cameras = {t.camera_id for t in tracklets}
    if len(cameras) > 1:
        raise ValueError(f"write_mot takes one camera's tracklets, got {sorted(cameras)}")
    rows = sorted((frame + 1, t.track_id, box, conf)
                  for t in tracklets for frame, box, conf in _boxes(t))
    with atomic_write(path) as f:
        for frame, track_id, (x, y, w, h), conf in rows:
            f.write(f"{frame},{track_id},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{conf:.3f},-1,-1,-1\n")


def number_cameras(camera_ids: Sequence[str]) -> dict[str, int]:
    """Integer ids for AI City files.

    If every camera id ends in digits and those numbers are distinct (``c001`` -> 1,
    ``cam12`` -> 12), they are used; otherwise cameras are numbered 1..N in the given order.
    """
    digits = [re.search(r"(\d+)$", c) for c in camera_ids]
    numbers = [int(m.group(1)) for m in digits if m]
    if len(numbers) == len(camera_ids) and len(set(numbers)) == len(numbers):
        return dict(zip(camera_ids, numbers, strict=True))
    return {c: i for i, c in enumerate(camera_ids, start=1)}


def write_aicity(path: str | Path, tracklets: Sequence[Tracklet],
                 global_ids: dict[TrackletKey, int], camera_numbers: dict[str, int]) -> None:
    """AI City multi-camera file ``camera_id obj_id frame_id xmin ymin width height -1 -1``.

    Space-separated; camera ids from `camera_numbers` (see `number_cameras`), obj_id the global
    id, frames 1-based, boxes rounded (half to even) to whole pixels as in the AI City ground
    truth. Rows sorted by camera, frame, obj_id.
    """
    rows = sorted((camera_numbers[t.camera_id], frame + 1, global_ids[t.key], box)
                  for t in tracklets for frame, box, _ in _boxes(t))
    with atomic_write(path) as f:
        for camera, frame, gid, box in rows:
            x, y, w, h = (round(v) for v in box)
            f.write(f"{camera} {gid} {frame} {x} {y} {w} {h} -1 -1\n")


def write_json(path: str | Path, obj: Any) -> None:
    """`obj` as indented JSON."""
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_yaml(path: str | Path, obj: Any, comment: str = "") -> None:
    """`obj` as block YAML in the given key order, after `comment` lines (each gets "# ")."""
    with atomic_write(path) as f:
        f.writelines(f"# {line}\n" for line in comment.splitlines())
        yaml.safe_dump(obj, f, sort_keys=False, default_flow_style=None, width=100)


def _boxes(t: Tracklet) -> Iterator[tuple[int, tuple[float, float, float, float], float]]:
    """(frame, (x, y, w, h), confidence) for each observation of `t`."""
    for frame, (x1, y1, x2, y2), conf in zip(t.frames.tolist(), t.xyxy.tolist(),
                                             t.confidence.tolist(), strict=True):
        yield frame, (x1, y1, x2 - x1, y2 - y1), conf
