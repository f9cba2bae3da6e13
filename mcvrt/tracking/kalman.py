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
    std = [STD_POSITION * h] * 2 + [1e-2, STD_POSITION * h] \
        + [STD_VELOCITY * h] * 2 + [1e-5, STD_VELOCITY * h]
    kf.predict(Q=np.diag(np.square(std)))


def update(kf: KalmanFilter, xyah: np.ndarray) -> None:
    """Correct the state with one measured box."""
    kf.update(np.asarray(xyah, np.float64), R=_measurement_noise(kf))


def gating_distance(kf: KalmanFilter, xyah: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance (N,) from the projected state to each measured box (N, 4).

    Compare with a chi-square quantile for 4 degrees of freedom (e.g. 9.4877 for 95 %).
    """
    mean = (_H @ kf.x).ravel()
    cov = _H @ kf.P @ _H.T + _measurement_noise(kf)
    d = np.asarray(xyah, np.float64).reshape(-1, 4) - mean
    return np.einsum("ij,ji->i", d, np.linalg.solve(cov, d.T))


def _measurement_noise(kf: KalmanFilter) -> np.ndarray:
    """Measurement covariance R for the filter's current height."""
    h = float(kf.x[3, 0])
    return np.diag(np.square([STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h]))
