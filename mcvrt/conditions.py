"""Cheap image-condition estimate (day / night / fog) for frames and crops; numpy + OpenCV only.

Two statistics on a copy shrunk to at most `MAX_SIDE` pixels (about 0.2 ms a 640x360 frame):

* brightness: median Rec. 601 luma in [0, 1]. Low light scales every pixel down; the median,
  unlike the mean, ignores headlights and street lamps (real night clip: mean 0.28, median 0.22).
* haze: the 1st percentile of the dark channel (per-pixel minimum over B, G, R, then a minimum
  filter over a patch; He et al., CVPR 2009), i.e. the image's black level. Clear outdoor images
  have dark-channel values near 0 somewhere (shadows, tyres, saturated colours); fog adds airlight
  `A·(1 - t)` to every pixel, which lifts even the darkest ones. On labelled crops a low
  percentile separates fog from day far better than the dark channel's mean (balanced accuracy
  0.99 vs 0.85), which bright grey or white vehicles inflate.

Rule: `night` when brightness < `dark_below`, else `fog` when haze > `haze_above`, else `day`.
Frames and crops get their own thresholds (`FRAME_THRESHOLDS`, `CROP_THRESHOLDS`), each from
`calibrate` on labelled synthetic data: UIT train crops, and frames of the real day videos in
`../shared/data/videos`, each clear, darkened (`reid.degrade.darken`) and fogged
(`reid.degrade.fog`); docs/conditions.md gives the confusion matrices on held-out data. The
detector's pre-processing and the ReID expert routing share this estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

CONDITIONS = ("day", "night", "fog")
MAX_SIDE = 160  # statistics are computed on a copy no larger than this (longest side)
PATCH_FRACTION = 1 / 15  # dark-channel patch side as a share of the shorter side (15 px at 225)
HAZE_PERCENTILE = 1  # haze = this percentile of the dark channel


@dataclass(frozen=True)
class ConditionStats:
    """Condition statistics of one image, both in [0, 1]."""

    brightness: float
    haze: float


@dataclass(frozen=True)
class ConditionThresholds:
    """Decision thresholds of `classify`."""

    dark_below: float  # brightness below this -> night
    haze_above: float  # otherwise haze above this -> fog


FRAME_THRESHOLDS = ConditionThresholds(dark_below=0.316, haze_above=0.124)  # whole frames
CROP_THRESHOLDS = ConditionThresholds(dark_below=0.322, haze_above=0.082)  # vehicle crops


def dark_channel(image: np.ndarray, patch: int) -> np.ndarray:
    """(H, W) minimum over channels and over a `patch` x `patch` square, same dtype as `image`."""
    kernel = np.ones((patch, patch), np.uint8)
    channel_min = cv2.min(cv2.min(image[..., 0], image[..., 1]), image[..., 2])  # >10x min(axis=2)
    return cv2.erode(channel_min, kernel, borderType=cv2.BORDER_REPLICATE)


def condition_stats(image: np.ndarray) -> ConditionStats:
    """Brightness and haze of a uint8 BGR (H, W, 3) image (frame or crop)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ValueError(
            f"expected a non-empty uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    patch = max(1, round(min(image.shape[:2]) * PATCH_FRACTION)) | 1
    return ConditionStats(
        brightness=float(np.median(luma)) / 255.0,
        haze=float(np.percentile(dark_channel(image, patch), HAZE_PERCENTILE)) / 255.0,
    )


def classify_stats(stats: ConditionStats, thresholds: ConditionThresholds) -> str:
    """`night`, `fog` or `day` for precomputed statistics."""
    if stats.brightness < thresholds.dark_below:
        return "night"
    return "fog" if stats.haze > thresholds.haze_above else "day"


def classify(image: np.ndarray, thresholds: ConditionThresholds = FRAME_THRESHOLDS) -> str:
    """The condition of a uint8 BGR frame (or crop, with `CROP_THRESHOLDS`): day, night or fog."""
    return classify_stats(condition_stats(image), thresholds)


def confusion_matrix(truth: Sequence[str], predicted: Sequence[str]) -> np.ndarray:
    """(3, 3) int counts, rows = true condition, columns = predicted, in `CONDITIONS` order."""
    matrix = np.zeros((len(CONDITIONS), len(CONDITIONS)), np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[CONDITIONS.index(t), CONDITIONS.index(p)] += 1
    return matrix


def calibrate(stats: Sequence[ConditionStats], labels: Sequence[str]) -> ConditionThresholds:
    """Thresholds with the best balanced accuracy (mean per-class recall) on labelled statistics.

    Candidates are the midpoints between consecutive observed values (ties: the middle of the
    first run of best cuts, i.e. mid-margin); the dark threshold is chosen first on night vs the
    rest, then the haze threshold on the images it leaves.
    """
    bright = np.array([s.brightness for s in stats])
    haze = np.array([s.haze for s in stats])
    truth = np.array(labels)
    dark_below = _best_split(bright, truth == "night", below=True)
    lit = bright >= dark_below
    haze_above = _best_split(haze[lit], truth[lit] == "fog", below=False)
    return ConditionThresholds(dark_below=dark_below, haze_above=haze_above)


def _best_split(values: np.ndarray, positive: np.ndarray, below: bool) -> float:
    """The threshold that best separates `positive` (on the `below` / above side) from the rest."""
    if positive.all() or not positive.any():
        raise ValueError("calibration needs labelled examples of every condition")
    cuts = np.unique(values)
    candidates = (cuts[1:] + cuts[:-1]) / 2 if len(cuts) > 1 else cuts
    side = values[None, :] < candidates[:, None] if below else values[None, :] > candidates[:, None]
    recall_pos = (side & positive).sum(1) / positive.sum()
    recall_neg = (~side & ~positive).sum(1) / (~positive).sum()
    score = recall_pos + recall_neg
    best = np.flatnonzero(score == score.max())
    breaks = np.flatnonzero(np.diff(best) > 1)
    last = best[breaks[0]] if len(breaks) else best[-1]  # end of the first run of best cuts
    return float((candidates[best[0]] + candidates[last]) / 2)
