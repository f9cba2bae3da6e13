"""DeepSORT-style tracker for one camera: Detections in, Detections with track ids out."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from mcvrt.config import TrackerConfig
from mcvrt.tracking.association import (
    INFTY_COST,
    NO_PAIRS,
    Matches,
    assign,
    cosine_cost,
    iou_cost,
    matching_cascade,
)
from mcvrt.tracking.kalman import gating_distance, xyah_to_xyxy, xyxy_to_xyah
from mcvrt.tracking.track import Track
from mcvrt.types import Detections


class Tracker:
    """Tracks the vehicles of one camera; build one per camera (each owns its id counter).

    Track ids start at 1 for every instance and are drawn when a track is confirmed, so the ids
    a tracker reports are 1, 2, 3, ... without gaps.
    """

    def __init__(self, cfg: TrackerConfig) -> None:
        self._cfg = cfg
        self._ids = itertools.count(1)
        self._tracks: list[Track] = []
        self._updates = 0
        # with `report_first_hits`: each tentative track's rows so far, (update, row)
        self._held: dict[Track, list[tuple[int, Detections]]] = {}
        self._first_hits: list[tuple[int, Detections]] = []

    def update(self, dets: Detections, weak: np.ndarray | None = None) -> Detections:
        """Match one frame's detections to the tracks and return the rows of confirmed tracks.

        Returns `dets[rows]` with `track_id` set: the **detector's** boxes (not Kalman estimates),
        in input order, for every row matched to a confirmed track this frame, including tracks
        confirmed by this very update. Rows with an embedding follow DeepSORT: the appearance
        cascade over confirmed tracks, then IoU with tentative and just-updated tracks. Rows
        without one (`dets.embedding is None`: the frame was not embedded; an all-zero row: that
        detection was not) skip the cascade: IoU with tentative and just-updated tracks, and
        Mahalanobis-gated IoU with older ones; they never join a gallery.

        `weak` (N,) bool marks rows that may only continue a track (ByteTrack's low-score boxes):
        after the stages above, they are matched by IoU (at least `weak_min_iou`) to the
        confirmed tracks still unmatched, recent or gated as above; the others are dropped, and
        none starts a track or joins a gallery.
        """
        weak = np.zeros(len(dets), bool) if weak is None else np.asarray(weak, bool)
        for track in self._tracks:  # 1. predict
            track.predict()
        boxes = xyxy_to_xyah(dets.xyxy)
        features = [None if w else f for f, w in zip(_features(dets), weak, strict=True)]
        embedded = np.array([f is not None for f in features], bool)
        gated = self._gated(boxes)
        first = (self._cascade(dets.embedding, embedded, gated) if embedded.any()  # 2. cascade
                 else Matches.from_pairs(NO_PAIRS, *gated.shape))
        second = self._iou_stage(dets.xyxy, first, gated, embedded, weak)  # 3. IoU stage
        strong = Matches.from_pairs(np.concatenate([first.pairs, second.pairs]), *gated.shape)
        third = self._weak_stage(dets.xyxy, strong, gated, weak)  # 4. weak rows
        matches = Matches.from_pairs(np.concatenate([strong.pairs, third.pairs]), *gated.shape)
        owners: list[Track | None] = [None] * len(dets)  # 5. update, mark missed, initiate
        for row, col in matches.pairs:
            self._tracks[row].update(boxes[col], features[col])
            owners[col] = self._tracks[row]
        for row in matches.unmatched_rows:
            self._tracks[row].mark_missed()
        for col in matches.unmatched_cols[~weak[matches.unmatched_cols]]:
            owners[col] = self._start_track(boxes[col], features[col])
        self._tracks = [t for t in self._tracks if not t.is_deleted]  # 6. drop deleted
        if self._cfg.report_first_hits:
            self._hold(dets, owners)
        self._updates += 1
        return _confirmed_rows(dets, owners)  # 7.

    def first_hits(self) -> list[tuple[int, Detections]]:
        """With `report_first_hits`: the earlier rows of the tracks the last update confirmed,
        as (how many updates before the last one, rows with `track_id`), oldest first."""
        return self._first_hits

    def _hold(self, dets: Detections, owners: list[Track | None]) -> None:
        """Keep tentative tracks' rows; hand those of the tracks confirmed now to `first_hits`."""
        self._first_hits = []
        for col, track in enumerate(owners):
            if track is not None and track.is_tentative:
                self._held.setdefault(track, []).append((self._updates, dets[[col]]))
            elif track is not None and track in self._held:
                self._first_hits += [(self._updates - update, replace(row, track_id=np.array(
                    [track.track_id], np.int64))) for update, row in self._held.pop(track)]
        self._first_hits.sort(key=lambda item: -item[0])
        self._held = {t: rows for t, rows in self._held.items() if t.is_tentative}

    def _gated(self, boxes: np.ndarray) -> np.ndarray:
        """(T, N) True where a detection lies outside a track's Mahalanobis gate."""
        if not self._tracks:
            return np.ones((0, len(boxes)), bool)
        means, covs = zip(*(t.projection() for t in self._tracks), strict=True)
        return gating_distance(np.array(means), np.array(covs), boxes) > self._cfg.gating_chi2

    def _cascade(self, embedding: np.ndarray, embedded: np.ndarray, gated: np.ndarray) -> Matches:
        """Matching cascade of confirmed tracks on gated cosine distance to their galleries."""
        confirmed = np.array([t.is_confirmed for t in self._tracks], bool)
        cost = cosine_cost([t.gallery if c else t.gallery[:0]  # tentative rows: never used
                            for t, c in zip(self._tracks, confirmed, strict=True)], embedding)
        cost[gated | ~confirmed[:, None] | ~embedded[None, :]] = INFTY_COST
        ages = np.array([t.time_since_update for t in self._tracks], np.int64)
        return matching_cascade(cost, ages, self._cfg.max_age, self._cfg.max_cosine_distance)

    def _iou_stage(self, xyxy: np.ndarray, first: Matches, gated: np.ndarray,
                   embedded: np.ndarray, weak: np.ndarray) -> Matches:
        """IoU matching of what the cascade left, weak rows aside.

        Any detection may go to a tentative track or one updated on the previous frame, ungated
        (DeepSORT); a detection without embedding may also rejoin an older track whose
        Mahalanobis gate it passes (with an embedding, that is the cascade's job).
        """
        cost = self._iou_cost(xyxy, first)
        recent = self._recent()
        cost[~recent[:, None] & embedded[None, :]] = INFTY_COST
        cost[gated & ~recent[:, None] & ~embedded[None, :]] = INFTY_COST
        cost[:, weak] = INFTY_COST
        return assign(cost, self._cfg.max_iou_distance)

    def _weak_stage(self, xyxy: np.ndarray, strong: Matches, gated: np.ndarray,
                    weak: np.ndarray) -> Matches:
        """IoU matching of the weak rows to the tracks the strong rows left: recent tracks
        ungated, older ones within their Mahalanobis gate."""
        if not weak.any() or not self._tracks:
            return Matches.from_pairs(NO_PAIRS, len(self._tracks), len(xyxy))
        cost = self._iou_cost(xyxy, strong)
        cost[:, ~weak] = INFTY_COST
        confirmed = np.array([t.is_confirmed for t in self._tracks], bool)
        cost[~confirmed] = INFTY_COST
        cost[gated & ~self._recent()[:, None]] = INFTY_COST
        return assign(cost, 1.0 - self._cfg.weak_min_iou)

    def _iou_cost(self, xyxy: np.ndarray, taken: Matches) -> np.ndarray:
        """(T, N) 1 - IoU of the tracks' predicted boxes and the detections, INFTY_COST on the
        rows and columns of `taken`."""
        cost = iou_cost(xyah_to_xyxy(np.array([t.xyah for t in self._tracks])), xyxy)
        cost[taken.pairs[:, 0]] = INFTY_COST
        cost[:, taken.pairs[:, 1]] = INFTY_COST
        return cost

    def _recent(self) -> np.ndarray:
        """(T,) True for tentative tracks and those updated on the previous frame."""
        return np.array([t.is_tentative or t.time_since_update == 1 for t in self._tracks], bool)

    def _start_track(self, xyah: np.ndarray, feature: np.ndarray | None) -> Track:
        track = Track(xyah, feature, ids=self._ids, n_init=self._cfg.n_init,
                      max_age=self._cfg.max_age, gallery_size=self._cfg.gallery_size)
        self._tracks.append(track)
        return track


def _features(dets: Detections) -> list[np.ndarray | None]:
    """Per row: its embedding, or None when the frame or the row (all zeros) was not embedded."""
    if dets.embedding is None:
        return [None] * len(dets)
    embedded = np.any(dets.embedding, axis=1)
    return [e.copy() if keep else None for e, keep in zip(dets.embedding, embedded, strict=True)]


def _confirmed_rows(dets: Detections, owners: list[Track | None]) -> Detections:
    """The rows whose track is confirmed, with its id as `track_id`."""
    ids = np.array([t.track_id if t is not None and t.is_confirmed else 0 for t in owners],
                   np.int64)
    keep = ids > 0
    return replace(dets[keep], track_id=ids[keep])
