"""Accumulate one camera's tracked detections into per-track `Tracklet`s."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcvrt.types import Camera, Detections, Tracklet


@dataclass
class _Track:
    """What has been seen so far of one track id."""

    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)
    weighted_sum: np.ndarray | None = None  # sum of weight * embedding over embedded frames


class TrackletCollector:
    """Collect a tracker's per-frame output for one camera and turn it into tracklets.

    The tracklet embedding is a quality-weighted mean of its per-frame embeddings, each weighted
    by ``confidence * sqrt(box area)``, re-normalised to unit norm. Frames without an embedding
    (``dets.embedding is None``) or with an all-zero row (crop too small to embed) do not count.
    A tracklet with no embedded frame gets an all-zero embedding, which matching reads as "no
    appearance evidence".
    """

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self._tracks: dict[int, _Track] = {}
        self._dim = 0  # embedding size, learnt from the first embedded frame

    def add(self, frame_index: int, dets: Detections) -> None:
        """Record one frame of tracked detections (``dets.track_id`` must be set)."""
        if dets.track_id is None:
            raise ValueError("TrackletCollector.add needs detections with track_id set")
        widths = np.clip(dets.xyxy[:, 2] - dets.xyxy[:, 0], 0, None)
        heights = np.clip(dets.xyxy[:, 3] - dets.xyxy[:, 1], 0, None)
        weights = dets.confidence.astype(np.float64) * np.sqrt(widths * heights)
        for row, track_id in enumerate(dets.track_id.tolist()):
            track = self._tracks.setdefault(track_id, _Track())
            if track.frames and frame_index <= track.frames[-1]:
                raise ValueError(
                    f"track {track_id}: frame {frame_index} is not after frame {track.frames[-1]}"
                )
            track.frames.append(frame_index)
            track.boxes.append(dets.xyxy[row])
            track.confidence.append(float(dets.confidence[row]))
            track.class_ids.append(int(dets.class_id[row]))
            if dets.embedding is not None and np.any(dets.embedding[row]):
                self._dim = dets.embedding.shape[1]
                contribution = weights[row] * dets.embedding[row].astype(np.float64)
                if track.weighted_sum is None:
                    track.weighted_sum = contribution
                else:
                    track.weighted_sum += contribution

    def finish(self) -> list[Tracklet]:
        """All tracklets seen so far, ordered by track id."""
        return [self._tracklet(tid, track) for tid, track in sorted(self._tracks.items())]

    def _tracklet(self, track_id: int, track: _Track) -> Tracklet:
        ids, counts = np.unique(track.class_ids, return_counts=True)
        return Tracklet(
            camera_id=self.camera.id,
            track_id=track_id,
            frames=np.asarray(track.frames, dtype=np.int64),
            xyxy=np.stack(track.boxes).astype(np.float32),
            confidence=np.asarray(track.confidence, dtype=np.float32),
            class_id=int(ids[np.argmax(counts)]),  # np.unique sorts, so ties go to the smallest id
            embedding=self._mean_embedding(track.weighted_sum),
            fps=self.camera.fps,
            time_offset_s=self.camera.time_offset_s,
        )

    def _mean_embedding(self, weighted_sum: np.ndarray | None) -> np.ndarray:
        """Unit-norm direction of the weighted sum, or zeros when there is none."""
        if weighted_sum is None or not np.linalg.norm(weighted_sum) > 0:
            return np.zeros(self._dim, dtype=np.float32)
        return (weighted_sum / np.linalg.norm(weighted_sum)).astype(np.float32)
