"""One tracked object: Kalman state, tentative/confirmed/deleted lifecycle, appearance gallery."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from enum import Enum

import numpy as np

from mcvrt.tracking import kalman


class TrackState(Enum):
    TENTATIVE = 1  # not yet seen n_init times in a row; not reported
    CONFIRMED = 2  # reported, with a track id
    DELETED = 3  # to be dropped by the tracker


class Track:
    """A track born from one detection; it draws its id from `ids` when it is confirmed.

    Drawing ids on confirmation (not on birth) keeps reported ids gapless: tentative tracks
    that die never use one up.
    """

    def __init__(self, xyah: np.ndarray, feature: np.ndarray | None, *, ids: Iterator[int],
                 n_init: int, max_age: int, gallery_size: int) -> None:
        self._kf = kalman.create(xyah)
        self._ids = ids
        self._n_init = n_init
        self._max_age = max_age
        self._gallery: deque[np.ndarray] = deque(maxlen=gallery_size)
        self._gallery_array: np.ndarray | None = None  # cache: the cascade reads it every frame
        self.track_id: int | None = None
        self.state = TrackState.TENTATIVE
        self.hits = 0
        self.time_since_update = 0
        self._hit(feature)

    @property
    def is_tentative(self) -> bool:
        return self.state is TrackState.TENTATIVE

    @property
    def is_confirmed(self) -> bool:
        return self.state is TrackState.CONFIRMED

    @property
    def is_deleted(self) -> bool:
        return self.state is TrackState.DELETED

    @property
    def xyah(self) -> np.ndarray:
        """(4,) float64 (cx, cy, w / h, h) of the current (predicted or updated) state."""
        return self._kf.x[:4, 0].copy()

    @property
    def gallery(self) -> np.ndarray:
        """(G, D) appearance features, oldest first; (0,) when none were kept."""
        if self._gallery_array is None:
            self._gallery_array = np.asarray(self._gallery)
        return self._gallery_array

    def projection(self) -> tuple[np.ndarray, np.ndarray]:
        """Predicted box (4,) in xyah and its covariance (4, 4), for `kalman.gating_distance`."""
        return kalman.project(self._kf)

    def predict(self) -> None:
        """Advance the Kalman state one frame; call once per frame before matching."""
        kalman.predict(self._kf)
        self.time_since_update += 1

    def update(self, xyah: np.ndarray, feature: np.ndarray | None) -> None:
        """Correct with a matched box; `feature` (None: not embedded) joins the gallery."""
        kalman.update(self._kf, xyah)
        self._hit(feature)

    def mark_missed(self) -> None:
        """No detection this frame: tentative tracks die, confirmed ones after max_age misses."""
        if self.is_tentative or self.time_since_update > self._max_age:
            self.state = TrackState.DELETED

    def _hit(self, feature: np.ndarray | None) -> None:
        self.hits += 1
        self.time_since_update = 0
        if feature is not None:
            self._gallery.append(feature)
            self._gallery_array = None
        if self.is_tentative and self.hits >= self._n_init:
            self.state = TrackState.CONFIRMED
            self.track_id = next(self._ids)
