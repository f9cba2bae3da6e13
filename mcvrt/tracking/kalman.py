"""Constant-velocity Kalman filter on (cx, cy, aspect, h), with DeepSORT's noise model.

The state is (cx, cy, a, h, vcx, vcy, va, vh), where a = w / h. Noise standard deviations
scale with the box height: 1/20 of h for positions, 1/160 of h for velocities.
Box helpers convert between the detector's xyxy and the filter's xyah.
"""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter

STD_POSITION = 1.0 / 20
STD_VELOCITY = 1.0 / 160
MIN_SIDE_PX = 1.0  # thinner boxes are widened to this, to keep a = w / h finite

_F = np.eye(8) + np.eye(8, k=4)  # x_{t+1} = x_t + v_t (one processed frame per step)
_H = np.eye(4, 8)


# Process noise Q and measurement noise R are diagonal with std = c * h (positions, heights,
# velocities) or a constant (aspect), so each is A * h^2 + B; A and B are built once, not per call.
_Q_H = np.diag(np.square([STD_POSITION] * 2 + [0, STD_POSITION] + [STD_VELOCITY] * 2
                         + [0, STD_VELOCITY]))
_Q_0 = np.diag(np.square([0, 0, 1e-2, 0, 0, 0, 1e-5, 0]))
_R_H = np.diag(np.square([STD_POSITION] * 2 + [0, STD_POSITION]))
_R_0 = np.diag(np.square([0, 0, 1e-1, 0]))


def xyxy_to_xyah(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corner boxes -> (N, 4) float64 (cx, cy, w / h, h); sides below 1 px count as 1 px."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    w = np.maximum(xyxy[:, 2] - xyxy[:, 0], MIN_SIDE_PX)
    h = np.maximum(xyxy[:, 3] - xyxy[:, 1], MIN_SIDE_PX)
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    return np.column_stack([centre, w / h, h])


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    """(N, 4) (cx, cy, w / h, h) -> (N, 4) float64 corner boxes."""
    xyah = np.asarray(xyah, np.float64).reshape(-1, 4)
    half = np.column_stack([xyah[:, 2] * xyah[:, 3], xyah[:, 3]]) / 2
    return np.hstack([xyah[:, :2] - half, xyah[:, :2] + half])


def create(xyah: np.ndarray) -> KalmanFilter:
    """A filter at the measured box with zero velocity and DeepSORT's initial uncertainty."""
    h = float(xyah[3])
    kf = KalmanFilter(dim_x=8, dim_z=4)
    kf.F, kf.H = _F.copy(), _H.copy()
    kf.x = np.concatenate([xyah, np.zeros(4)]).reshape(8, 1)
    std = [2 * STD_POSITION * h] * 2 + [1e-2, 2 * STD_POSITION * h] \
        + [10 * STD_VELOCITY * h] * 2 + [1e-5, 10 * STD_VELOCITY * h]
    kf.P = np.diag(np.square(std))
    return kf


def predict(kf: KalmanFilter) -> None:
    """Advance one frame, with process noise scaled by the current height."""
    h = float(kf.x[3, 0])
    kf.predict(Q=_Q_H * (h * h) + _Q_0)


def update(kf: KalmanFilter, xyah: np.ndarray) -> None:
    """Correct the state with one measured box."""
    kf.update(np.asarray(xyah, np.float64), R=_measurement_noise(kf))


def project(kf: KalmanFilter) -> tuple[np.ndarray, np.ndarray]:
    """The state in measurement space: mean (4,) and covariance (4, 4) including R."""
    # H selects the first four state entries, so H x and H P H^T are slices.
    return kf.x[:4, 0].copy(), kf.P[:4, :4] + _measurement_noise(kf)


def gating_distance(mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances (T, N) from T projected states to N measured boxes.

    `mean` (T, 4) and `cov` (T, 4, 4) come from `project`; `xyah` is (N, 4). Compare with a
    chi-square quantile for 4 degrees of freedom (e.g. 9.4877 for 95 %). All T x N pairs are
    solved in one batched call: this runs once per frame for every track.
    """
    mean = np.asarray(mean, np.float64).reshape(-1, 4)
    d = np.asarray(xyah, np.float64).reshape(1, -1, 4) - mean[:, None, :]  # (T, N, 4)
    if d.size == 0:
        return np.zeros(d.shape[:2])
    solved = np.linalg.solve(np.asarray(cov, np.float64).reshape(-1, 4, 4), d.transpose(0, 2, 1))
    return np.einsum("tni,tin->tn", d, solved)


def _measurement_noise(kf: KalmanFilter) -> np.ndarray:
    """Measurement covariance R for the filter's current height."""
    h = float(kf.x[3, 0])
    return _R_H * (h * h) + _R_0
