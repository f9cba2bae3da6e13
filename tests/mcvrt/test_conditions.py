"""Condition estimator on constructed images, its calibration and confusion matrix."""

import numpy as np
import pytest

from mcvrt.conditions import (
    CROP_THRESHOLDS,
    ConditionStats,
    calibrate,
    classify,
    condition_stats,
    confusion_matrix,
    dark_channel,
)


def checkerboard(dark: int, bright: int) -> np.ndarray:
    """160x160 grey checkerboard of 16-px squares (no resize: 160 is the working size)."""
    squares = (np.add.outer(np.arange(160) // 16, np.arange(160) // 16) % 2).astype(bool)
    return np.repeat(np.where(squares, bright, dark).astype(np.uint8)[..., None], 3, axis=2)


DAY = checkerboard(0, 220)
NIGHT = checkerboard(0, 55)  # day x 0.25
FOG = checkerboard(115, 225)  # day x t + A (1 - t), t = 0.5, A = 230


@pytest.mark.parametrize("image, brightness, haze, condition", [
    (DAY, 110 / 255, 0.0, "day"),
    (NIGHT, 27.5 / 255, 0.0, "night"),
    (FOG, 170 / 255, 115 / 255, "fog"),
])
def test_constructed_images(image, brightness, haze, condition):
    assert condition_stats(image) == pytest.approx(ConditionStats(brightness, haze))
    assert classify(image) == classify(image, CROP_THRESHOLDS) == condition


def test_dark_channel_is_the_channel_minimum_then_a_patch_minimum():
    image = np.full((5, 5, 3), 200, np.uint8)
    image[2, 2] = (90, 10, 250)
    expected = np.full((5, 5), 200, np.uint8)
    expected[1:4, 1:4] = 10
    assert (dark_channel(image, 3) == expected).all()
    assert (dark_channel(image, 1) == image.min(axis=2)).all()


def test_stats_of_a_large_frame_use_a_shrunk_copy():
    frame = np.repeat(np.repeat(DAY, 4, axis=0), 4, axis=1)  # 640x640 -> shrunk to 160x160
    assert condition_stats(frame) == pytest.approx(condition_stats(DAY))
    with pytest.raises(ValueError, match="uint8"):
        condition_stats(np.zeros((4, 4), np.uint8))


def test_calibrate_puts_thresholds_mid_margin():
    stats = [ConditionStats(b, h) for b, h in
             [(0.1, 0.0), (0.15, 0.0), (0.5, 0.0), (0.6, 0.05), (0.55, 0.3), (0.7, 0.4)]]
    labels = ["night", "night", "day", "day", "fog", "fog"]
    th = calibrate(stats, labels)
    assert (th.dark_below, th.haze_above) == pytest.approx((0.325, 0.175))
    with pytest.raises(ValueError, match="every condition"):
        calibrate(stats[:2], labels[:2])


def test_confusion_matrix_rows_are_truth():
    m = confusion_matrix(["day", "day", "night", "fog"], ["day", "fog", "night", "fog"])
    assert m.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]

