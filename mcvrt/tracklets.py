"""Accumulate one camera's tracked detections into per-track `Tracklet`s, and store a run's
tracklets in its output folder (`save_run` / `load_run`) so that `mcvrt rematch` can redo the
association without decoding, detecting or tracking again."""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcvrt.boxes import unoccluded
from mcvrt.config import PipelineConfig, config_from_mapping, config_to_mapping
from mcvrt.errors import InputError
from mcvrt.export import atomic_write, write_json
from mcvrt.types import Camera, Detections, Tracklet


@dataclass
class _Track:
    """What has been seen so far of one track id.

    Per-frame values go into typed arrays (35 bytes a detection): lists of Python numbers and
    numpy row views took 210 (tracemalloc), the growth of a long run that was not the output.
    """

    frames: array = field(default_factory=lambda: array("q"))
    boxes: array = field(default_factory=lambda: array("f"))  # x1, y1, x2, y2 per frame
    confidence: array = field(default_factory=lambda: array("f"))
    class_counts: Counter[int] = field(default_factory=Counter)
    weighted_sum: np.ndarray | None = None  # sum of weight * embedding over embedded frames
    clean_sum: np.ndarray | None = None  # the same over unoccluded crops only (`unoccluded`)


def _add(total: np.ndarray | None, term: np.ndarray) -> np.ndarray:
    return term.copy() if total is None else total + term


class TrackletCollector:
    """Collect a tracker's per-frame output for one camera and turn it into tracklets.

    The tracklet embedding is a quality-weighted mean of its per-frame embeddings, each weighted
    by ``confidence * sqrt(box area)``, re-normalised to unit norm, over its unoccluded crops
    (`unoccluded`) when it has any, else over all of them. Frames without an embedding
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
        clean = unoccluded(dets.xyxy)
        for row, track_id in enumerate(dets.track_id.tolist()):
            track = self._tracks.setdefault(track_id, _Track())
            if track.frames and frame_index <= track.frames[-1]:
                raise ValueError(
                    f"track {track_id}: frame {frame_index} is not after frame {track.frames[-1]}"
                )
            track.frames.append(frame_index)
            track.boxes.extend(dets.xyxy[row].tolist())
            track.confidence.append(float(dets.confidence[row]))
            track.class_counts[int(dets.class_id[row])] += 1
            if dets.embedding is not None and np.any(dets.embedding[row]):
                self._dim = dets.embedding.shape[1]
                contribution = weights[row] * dets.embedding[row].astype(np.float64)
                track.weighted_sum = _add(track.weighted_sum, contribution)
                if clean[row]:
                    track.clean_sum = _add(track.clean_sum, contribution)

    def finish(self) -> list[Tracklet]:
        """All tracklets seen so far, ordered by track id."""
        return [self._tracklet(tid, track) for tid, track in sorted(self._tracks.items())]

    def _tracklet(self, track_id: int, track: _Track) -> Tracklet:
        return Tracklet(
            camera_id=self.camera.id,
            track_id=track_id,
            frames=np.array(track.frames, dtype=np.int64),
            xyxy=np.array(track.boxes, dtype=np.float32).reshape(-1, 4),
            confidence=np.array(track.confidence, dtype=np.float32),
            # the most frequent class; ties go to the smallest id
            class_id=min(track.class_counts, key=lambda c: (-track.class_counts[c], c)),
            embedding=self._mean_embedding(
                track.weighted_sum if track.clean_sum is None else track.clean_sum
            ),
            fps=self.camera.fps,
            time_offset_s=self.camera.time_offset_s,
        )

    def _mean_embedding(self, weighted_sum: np.ndarray | None) -> np.ndarray:
        """Unit-norm direction of the weighted sum, or zeros when there is none."""
        if weighted_sum is None or not np.linalg.norm(weighted_sum) > 0:
            return np.zeros(self._dim, dtype=np.float32)
        return (weighted_sum / np.linalg.norm(weighted_sum)).astype(np.float32)


TRACKLETS_NPZ, TRACKLETS_JSON = "tracklets.npz", "tracklets.json"
STORE_FORMAT = "mcvrt-tracklets/1"
PER_FRAME = ("frames", "xyxy", "confidence")  # Tracklet arrays with one row per frame
PER_TRACKLET = ("camera_id", "track_id", "class_id", "fps", "time_offset_s")


@dataclass(frozen=True)
class StoredRun:
    """What `mcvrt run` kept for association: tracklets, cameras, config and tracking times."""

    tracklets: list[Tracklet]
    cameras: list[Camera]
    config: PipelineConfig
    frames: int  # camera-frames processed
    seconds: float  # wall time up to the end of tracking (models, decode, detect, embed, track)
    stage_seconds: dict[str, float]


def stack_embeddings(tracklets: Sequence[Tracklet], rows: Sequence[int] | None = None
                     ) -> np.ndarray:
    """(len(tracklets), D) float32: the embeddings of `rows` (default all), zero-padded to the
    longest of them; zero rows for the others."""
    rows = range(len(tracklets)) if rows is None else rows
    out = np.zeros((len(tracklets), max((len(tracklets[r].embedding) for r in rows), default=0)),
                   np.float32)
    for r in rows:
        out[r, : len(tracklets[r].embedding)] = tracklets[r].embedding
    return out


def save_run(out_dir: Path, run: StoredRun) -> list[Path]:
    """Write ``tracklets.npz`` (the tracklets' arrays) and ``tracklets.json`` (cameras, config,
    counts, times, each tracklet's `extra`), each atomically; returns both paths.

    Embeddings are zero-padded to the longest; each tracklet's own length is kept.
    """
    tracklets = run.tracklets
    embeddings = stack_embeddings(tracklets)
    arrays = {name: np.array([getattr(t, name) for t in tracklets]) for name in PER_TRACKLET}
    arrays |= {name: np.concatenate([getattr(t, name) for t in tracklets])
               for name in PER_FRAME if tracklets}
    arrays |= {"length": np.array([len(t.frames) for t in tracklets], np.int64),
               "embedding_dim": np.array([len(t.embedding) for t in tracklets], np.int64),
               "embedding": embeddings}
    npz, meta = out_dir / TRACKLETS_NPZ, out_dir / TRACKLETS_JSON
    with atomic_write(npz, "wb") as f:
        np.savez(f, **arrays)
    write_json(meta, {
        "format": STORE_FORMAT,
        "tracklets": len(tracklets),
        "cameras": [{"id": c.id, "path": str(c.path), "fps": c.fps, "frame_count": c.frame_count,
                     "size_wh": list(c.size_wh), "time_offset_s": c.time_offset_s,
                     "claimed_frames": c.claimed_frames, "skipped": [list(r) for r in c.skipped]}
                    for c in run.cameras],
        "frames": run.frames,
        "seconds": run.seconds,
        "stage_seconds": run.stage_seconds,
        "config": config_to_mapping(run.config),
        "extra": [t.extra for t in tracklets],
    })
    return [npz, meta]


def load_run(run_dir: Path) -> StoredRun:
    """Read what `save_run` wrote to `run_dir`; raises `InputError` when it is not there or
    does not fit together, `ConfigError` when its config no longer loads."""
    meta_path = run_dir / TRACKLETS_JSON
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(run_dir / TRACKLETS_NPZ, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError as err:
        raise InputError(f"{run_dir}: no {Path(err.filename).name} (not an `mcvrt run` output "
                         "folder, or written before tracklets were stored)") from None
    except (OSError, ValueError) as err:
        raise InputError(f"{run_dir}: cannot read the stored tracklets ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
        raise InputError(f"{meta_path}: not a {STORE_FORMAT} file")
    count = meta["tracklets"]
    if len(arrays.get("length", ())) != count or len(meta["extra"]) != count:
        raise InputError(f"{run_dir}: {TRACKLETS_NPZ} and {TRACKLETS_JSON} do not belong together")
    cuts = np.cumsum(arrays["length"])[:-1]
    per_frame = {name: np.split(arrays[name], cuts) if count else [] for name in PER_FRAME}
    tracklets = [
        Tracklet(**{name: arrays[name][row].item() for name in PER_TRACKLET},
                 **{name: per_frame[name][row] for name in PER_FRAME},
                 embedding=arrays["embedding"][row, : arrays["embedding_dim"][row]],
                 extra=meta["extra"][row])
        for row in range(count)
    ]
    cameras = [Camera(id=c["id"], path=Path(c["path"]), fps=c["fps"],
                      frame_count=c["frame_count"], size_wh=tuple(c["size_wh"]),
                      time_offset_s=c["time_offset_s"],
                      claimed_frames=c.get("claimed_frames", 0),  # stored before decoding counts
                      skipped=tuple(tuple(r) for r in c.get("skipped", ())))
               for c in meta["cameras"]]
    return StoredRun(tracklets, cameras, config_from_mapping(meta["config"]),
                     meta["frames"], meta["seconds"], meta["stage_seconds"])
