"""Shared fixtures: synthetic videos of coloured boxes and a fake detector that finds them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from mcvrt.types import Detections

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DETECTOR_DIR = SHARED / "weights" / "yolo11n_int8_openvino_model"
VIDEOS = SHARED / "videos"

# (BGR colour, start xy, velocity xy per frame, size wh) of each synthetic vehicle
VEHICLES = [
    ((0, 0, 230), (10, 40), (4, 0), (40, 24)),
    ((230, 0, 0), (250, 120), (-4, 0), (36, 28)),
]


def write_video(path: Path, frames: int = 40, size: tuple[int, int] = (320, 200), fps: float = 10.0,
                vehicles: list = VEHICLES) -> Path:
    """Write an MP4 of coloured rectangles moving on straight lines over a grey background."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 90, np.uint8)
        for colour, (x, y), (vx, vy), (w, h) in vehicles:
            x0, y0 = int(x + vx * i), int(y + vy * i)
            cv2.rectangle(image, (x0, y0), (x0 + w, y0 + h), colour, -1)
        writer.write(image)
    writer.release()
    return path


def blob_detect(image: np.ndarray) -> Detections:
    """Fake detector: every saturated blob of the synthetic videos is a 'car'."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    mask = (hsv[..., 1] > 120).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:n] if area > 50]
    return Detections(
        xyxy=np.array(boxes, np.float32).reshape(-1, 4),
        confidence=np.full(len(boxes), 0.9, np.float32),
        class_id=np.full(len(boxes), 2, np.int64),
    )


@pytest.fixture
def synthetic_videos(tmp_path: Path) -> Callable[[int], list[Path]]:
    """Factory: `n` short synthetic camera videos under tmp_path."""

    def make(n: int = 2) -> list[Path]:
        return [write_video(tmp_path / f"cam{i + 1}.mp4") for i in range(n)]

    return make


@pytest.fixture
def detector_dir() -> Path:
    """The shared COCO detector export; skips when the shared data is absent."""
    if not DETECTOR_DIR.is_dir():
        pytest.skip("shared detector weights not available")
    return DETECTOR_DIR


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Converted models (`reid.ov_backend`) go to a temporary folder, not the user's cache."""
    import os

    os.environ["MCVRT_CACHE"] = str(tmp_path_factory.mktemp("mcvrt-cache"))
