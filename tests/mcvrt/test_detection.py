"""Detector post-processing without a model: tiling, pass merging, rider merging, class filter."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from mcvrt.config import DetectorConfig
from mcvrt.detection import (
    Detector,
    fp16_on_cuda,
    fuse_across_classes,
    lowest_confidence,
    merge_passes,
    tile_origins,
)
from mcvrt.types import Detections


class _Array:
    """Stands in for a torch tensor: `.cpu().numpy()`."""

    def __init__(self, values: list) -> None:
        self.values = np.asarray(values, np.float32)

    def cpu(self) -> "_Array":
        return self

    def numpy(self) -> np.ndarray:
        return self.values


class FakeModel:
    """Returns fixed (x1, y1, x2, y2, conf, class) rows for images of a given shape."""

    def __init__(self, rows_by_shape: dict[tuple[int, int], list]) -> None:
        self.rows_by_shape, self.calls = rows_by_shape, []

    def predict(self, image: np.ndarray, conf: float, classes: list[int], **_: object) -> list:
        self.calls.append((image.shape[:2], conf, classes))
        rows = np.array(self.rows_by_shape.get(image.shape[:2], []), np.float32).reshape(-1, 6)
        rows = rows[(rows[:, 4] >= conf) & np.isin(rows[:, 5], classes)]
        boxes = SimpleNamespace(xyxy=_Array(rows[:, :4]), conf=_Array(rows[:, 4]),
                                cls=_Array(rows[:, 5]))
        return [SimpleNamespace(boxes=boxes)]


def detector(cfg: DetectorConfig, model: FakeModel) -> Detector:
    det = object.__new__(Detector)  # skips loading weights
    det.model, det.cfg = model, cfg
    return det


def test_tiles_cover_the_frame_with_half_overlap():
    assert tile_origins((640, 360), 320) == [(0, 0), (160, 0), (320, 0),
                                             (0, 40), (160, 40), (320, 40)]
    assert tile_origins((640, 360), 427) == [(0, 0), (213, 0)]
    assert tile_origins((300, 200), 640) == [(0, 0)]


def test_merge_passes_keeps_the_best_box_per_class():
    a = Detections(np.array([[0, 0, 10, 10]], np.float32), np.array([0.5], np.float32),
                   np.array([2], np.int64))
    b = Detections(np.array([[1, 0, 10, 10], [0, 0, 10, 10]], np.float32),
                   np.array([0.9, 0.4], np.float32), np.array([2, 7], np.int64))
    out = merge_passes([a, b], 0.5)
    assert out.xyxy.tolist() == [[1, 0, 10, 10], [0, 0, 10, 10]]
    assert out.class_id.tolist() == [2, 7]


def test_riders_are_merged_and_other_classes_dropped():
    cfg = DetectorConfig(weights="x.pt", confidence=0.25, merge_riders=True,
                         rider_support_confidence=0.1, night_track_confidence=None)
    model = FakeModel({(200, 300): [(100, 40, 140, 110, 0.8, 0), (95, 80, 145, 130, 0.15, 3),
                                    (200, 40, 220, 100, 0.9, 0), (10, 10, 60, 40, 0.6, 2),
                                    (250, 100, 280, 150, 0.9, 1)]})
    out = detector(cfg, model)(np.zeros((200, 300, 3), np.uint8))
    assert np.c_[out.xyxy, out.class_id].tolist() == [[95, 40, 145, 130, 3], [10, 10, 60, 40, 2]]
    assert out.confidence.tolist() == [np.float32(0.8), np.float32(0.6)]
    assert model.calls == [((200, 300), 0.1, [0, 1, 2, 3, 5, 7])]
    plain = DetectorConfig(confidence=0.25, night_confidence=0.15, fog_confidence=None,
                           merge_riders=False, night_track_confidence=None)
    assert lowest_confidence(plain) == 0.15
    weak = DetectorConfig(confidence=0.25, night_confidence=0.15, merge_riders=False,
                          night_track_confidence=0.05)
    assert lowest_confidence(weak) == 0.05
    assert [weak.track_confidence_for(c) for c in ("day", "night", "fog")] == [0.25, 0.05, 0.15]
    trucks = replace(weak, night_class_confidence={7: 0.1}, night_class_track_confidence={7: 0.03})
    assert lowest_confidence(trucks) == 0.03
    assert [trucks.confidence_for("night", c) for c in (2, 7, None)] == [0.15, 0.1, 0.15]
    assert [trucks.track_confidence_for("night", c) for c in (2, 7)] == [0.05, 0.03]
    assert [trucks.confidence_for("day", 7), trucks.track_confidence_for("fog", 7)] == [0.25, 0.15]


def test_upscaled_tiles_add_small_vehicles_in_frame_pixels():
    cfg = DetectorConfig(weights="x.pt", image_size=64, upscale=2.0, merge_riders=False,
                         agnostic_nms=False)  # 32-px tiles, enlarged to 64
    frame = np.zeros((32, 48, 3), np.uint8)  # tiles at x = 0 and 16
    model = FakeModel({(32, 48): [(0, 0, 40, 30, 0.9, 7)],  # the whole frame: one big truck
                       (64, 64): [(20, 20, 40, 40, 0.8, 2),  # a car in each tile, same place,
                                  (50, 10, 64, 30, 0.7, 2)]})  # and one at the tile's right edge:
    out = detector(cfg, model)(frame)  # cut by tile 1's inner edge (dropped), whole in tile 2
    assert out.xyxy.tolist() == [[0, 0, 40, 30], [10, 10, 20, 20], [26, 10, 36, 20],
                                 [41, 5, 48, 15]]
    assert out.class_id.tolist() == [7, 2, 2, 2]
    assert [shape for shape, _, _ in model.calls] == [(32, 48), (64, 64), (64, 64)]


def test_agnostic_nms_drops_a_second_class_on_the_same_vehicle_but_keeps_riders():
    cfg = DetectorConfig(weights="x.pt", merge_riders=True, agnostic_nms=True)
    model = FakeModel({(200, 300): [(10, 10, 60, 40, 0.6, 2), (11, 10, 60, 42, 0.5, 7),
                                    (100, 40, 140, 110, 0.8, 0), (95, 80, 145, 130, 0.4, 3)]})
    out = detector(cfg, model)(np.zeros((200, 300, 3), np.uint8))
    # the car keeps its class and confidence; its box takes in the truck box's lower edge
    assert np.c_[out.xyxy, out.class_id].tolist() == [[10, 10, 60, 42, 2], [95, 40, 145, 130, 3]]
    assert out.confidence.tolist() == [np.float32(0.6), np.float32(0.8)]


def test_cross_class_duplicates_fuse_into_the_more_confident_box():
    d = Detections(np.array([[10, 10, 60, 40], [11, 8, 62, 40], [12, 12, 58, 38],
                             [100, 10, 140, 40], [120, 10, 160, 40]], np.float32),
                   np.array([0.5, 0.7, 0.2, 0.6, 0.5], np.float32),
                   np.array([2, 7, 2, 2, 7], np.int64))
    out = fuse_across_classes(d, 0.5, min_confidence=0.25)
    # box 0 (IoU 0.85 with the truck) widens the truck; box 2 (0.2) is dropped without widening;
    # boxes 3 and 4 overlap at IoU 0.33 and stay apart
    assert np.c_[out.xyxy, out.class_id].tolist() == [[10, 8, 62, 40, 7], [100, 10, 140, 40, 2],
                                                     [120, 10, 160, 40, 7]]
    assert out.confidence.tolist() == [np.float32(0.7), np.float32(0.6), np.float32(0.5)]
    assert len(fuse_across_classes(Detections.empty(), 0.5)) == 0


def test_a_confident_rider_over_a_weak_bike_box_is_one_two_wheeler():
    cfg = DetectorConfig(weights="x.pt", merge_riders=True, rider_support_confidence=0.01)
    model = FakeModel({(200, 300): [(100, 40, 140, 130, 0.7, 0), (102, 85, 138, 128, 0.02, 3),
                                    (200, 40, 225, 120, 0.8, 0)]})  # a pedestrian: no bike
    out = detector(cfg, model)(np.zeros((200, 300, 3), np.uint8))
    assert np.c_[out.xyxy, out.confidence.round(2), out.class_id].tolist() == [
        [100, 40, 140, 130, np.float32(0.7).round(2), 3]]
    assert model.calls[0][1] == 0.01


def test_fp16_only_on_cuda() -> None:
    from ultralytics.cfg import DEFAULT_CFG_DICT

    assert fp16_on_cuda("cpu") == {}
    (key, value), = fp16_on_cuda("cuda:0").items()
    assert key in DEFAULT_CFG_DICT and value in (16, True)
