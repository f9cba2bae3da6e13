"""Each tracklet's best crop: cut in one decoding pass, stored, read back, picked per identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcvrt.crops import (
    CROP_SIDE,
    Crop,
    best_per_identity,
    copy_crops,
    load_crops,
    save_crops,
    tracklet_crops,
)
from mcvrt.types import Tracklet
from mcvrt.video import probe_cameras
from tests.conftest import write_video


def _tracklet(camera: str, track_id: int, frames: list[int], boxes: list, conf: list) -> Tracklet:
    return Tracklet(camera_id=camera, track_id=track_id, frames=np.array(frames, np.int64),
                    xyxy=np.array(boxes, np.float32), confidence=np.array(conf, np.float32),
                    class_id=2, embedding=np.zeros(0, np.float32), fps=10.0)


def test_each_tracklet_gets_its_best_box_cut_from_its_frame(tmp_path: Path) -> None:
    (camera,) = probe_cameras([write_video(tmp_path / "cam1.mp4")])
    # the red vehicle starts at x=10 and moves 4 px a frame, 40x24 (tests/conftest.VEHICLES)
    red = [[10 + 4 * f, 40, 50 + 4 * f, 64] for f in (2, 5)]
    tracklets = [_tracklet("cam1", 1, [2, 5], red, [0.5, 0.9]),  # frame 5: higher confidence
                 _tracklet("cam1", 2, [3], [[500, 500, 540, 530]], [0.9])]  # outside the frame
    crops = tracklet_crops([camera], tracklets)
    assert list(crops) == [("cam1", 1)]  # no pixels, no crop
    crop = crops[("cam1", 1)]
    assert crop.frame == 5 and np.isclose(crop.quality, 0.9 * np.sqrt(40 * 24))
    image = crop.image()
    assert image.shape[:2] == (24, 40)  # small crops keep their size
    b, g, r = image[4:-4, 4:-4].reshape(-1, 3).mean(axis=0)
    assert r > 150 and b < 80 and g < 80  # the red vehicle, not the grey road


def test_crops_round_trip_and_the_best_per_identity_and_camera_wins(tmp_path: Path) -> None:
    jpeg = bytes(range(7))
    crops = {("b", 1): Crop(3, 2.0, jpeg), ("a", 2): Crop(0, 5.0, b"x" * CROP_SIDE),
             ("a", 3): Crop(9, 6.0, b"")}
    path = save_crops(tmp_path / "crops.npz", crops)
    assert load_crops(path) == crops
    assert load_crops(tmp_path / "none.npz") == {}
    best = best_per_identity(crops, {("b", 1): 1, ("a", 2): 1, ("a", 3): 1})
    assert best == {(1, "b"): crops[("b", 1)], (1, "a"): crops[("a", 3)]}


def test_copy_crops_into_another_folder_only(tmp_path: Path) -> None:
    save_crops(tmp_path / "crops.npz", {("c", 1): Crop(1, 1.0, b"jpg")})
    (tmp_path / "other").mkdir()
    assert copy_crops(tmp_path, tmp_path) == []
    assert copy_crops(tmp_path / "other", tmp_path) == []  # it has none
    assert copy_crops(tmp_path, tmp_path / "other") == [tmp_path / "other" / "crops.npz"]
    assert load_crops(tmp_path / "other" / "crops.npz") == load_crops(tmp_path / "crops.npz")
