"""B3 tracker only: identical recorded detections (+ precomputed embeddings) replayed into trackers.

The detections come from a synthetic scene with known identities, so each tracker's IDF1 and ID
switches stand beside its speed: `density` vehicles in view of a 1920x1080 camera at any time,
straight constant-speed paths, box noise, 8 % missed detections, low-confidence and false-positive
boxes, and a 64-d appearance vector per vehicle with per-detection noise. Every tracker gets the
same per-frame arrays, built before timing starts; fps counts `update` calls only.
Peers: `trackers` (PyPI) ByteTrack and SORT, and ultralytics' BYTETracker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from bench.common import (
    Case,
    column,
    entry,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    pin_threads,
    ratio,
    report,
    stats,
    timed,
)
from mcvrt.config import TrackerConfig
from mcvrt.evaluation import iou_distance
from mcvrt.tracking import Tracker
from mcvrt.types import Detections

TARGET = 0.5  # ours / trackers ByteTrack at 30 detections per frame
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--densities", "5", "10", "--frames", "20", "--repeats", "1", "--warmup", "0"]
SIZE = (1920, 1080)
FPS = 30.0
EMBED_DIM = 64

Boxes = tuple[np.ndarray, np.ndarray]  # ids (N,), xyxy (N, 4)


@dataclass(frozen=True)
class Scene:
    """Per frame: ground truth (ids, boxes) and the detections every tracker receives."""

    truth: list[Boxes]
    xyxy: list[np.ndarray]
    confidence: list[np.ndarray]
    embedding: list[np.ndarray]


def make_scene(density: int, frames: int, seed: int = 0) -> Scene:
    """Vehicles appearing and disappearing so that exactly `density` are in view in every frame.

    Each drives in a straight line between two random points of the frame during its lifetime;
    when one leaves, a new one appears.
    """
    rng = np.random.default_rng(seed)
    w, h = SIZE
    vehicles = []  # (start frame, length, start xy, velocity xy, box wh, identity vector)
    for frame in range(frames):
        alive = sum(1 for v in vehicles if frame < v[0] + v[1])
        for _ in range(density - alive):
            length = int(rng.integers(60, 180))
            start = frame - int(rng.integers(0, length)) if frame == 0 else frame
            wh = rng.uniform(40, 160) * np.array([1.0, rng.uniform(0.5, 1.0)])
            a, b = (rng.uniform(0, 1, 2) * ((w, h) - wh) for _ in range(2))
            vector = rng.normal(size=EMBED_DIM)
            vector /= np.linalg.norm(vector)
            vehicles.append((start, length, a, (b - a) / length, wh, vector))
    truth, xyxy, conf, emb = [], [], [], []
    for f in range(frames):
        live = [(gid, v) for gid, v in enumerate(vehicles, 1) if v[0] <= f < v[0] + v[1]]
        ids = np.array([gid for gid, _ in live], np.int64)
        boxes = np.array([np.concatenate([xy + v * (f - s), xy + v * (f - s) + wh])
                          for _, (s, _, xy, v, wh, _) in live], np.float32).reshape(-1, 4)
        vectors = np.array([v[5] for _, v in live]).reshape(-1, EMBED_DIM)
        truth.append((ids, boxes))
        seen = rng.random(len(ids)) > 0.08
        n_seen = int(seen.sum())
        sides = boxes[seen, 2:] - boxes[seen, :2]
        noisy = boxes[seen] + rng.normal(0, 0.03, (n_seen, 4)) * np.tile(sides, 2)
        n_fp = rng.poisson(0.03 * density)
        fp_xy = rng.uniform(0, [w - 80, h - 60], (n_fp, 2))
        fp = np.hstack([fp_xy, fp_xy + rng.uniform(30, 80, (n_fp, 2))])
        det_vectors = np.vstack([vectors[seen], rng.normal(size=(n_fp, EMBED_DIM))])
        det_vectors = det_vectors + rng.normal(0, 0.04, det_vectors.shape)
        confidence = np.concatenate([np.where(rng.random(n_seen) < 0.1,
                                              rng.uniform(0.1, 0.4, n_seen),
                                              rng.uniform(0.4, 1.0, n_seen)),
                                     rng.uniform(0.1, 0.5, n_fp)])
        xyxy.append(np.vstack([noisy, fp]).astype(np.float32))
        conf.append(confidence.astype(np.float32))
        emb.append((det_vectors / np.linalg.norm(det_vectors, axis=1, keepdims=True))
                   .astype(np.float32))
    return Scene(truth, xyxy, conf, emb)


Run = Callable[[], list[Boxes]]  # one pass over the scene: per frame (track ids, boxes)


def ours(scene: Scene, embed_every: int) -> Run:
    """Our DeepSORT `Tracker` with embeddings on every `embed_every`-th frame (0: motion only),
    as the pipeline's `appearance.embed_every` feeds it."""
    inputs = [Detections(xyxy=b, confidence=c, class_id=np.full(len(b), 2, np.int64),
                         embedding=e if embed_every and f % embed_every == 0 else None)
              for f, (b, c, e) in enumerate(zip(scene.xyxy, scene.confidence, scene.embedding,
                                                strict=True))]

    def replay() -> list[Boxes]:
        tracker = Tracker(TrackerConfig())
        out = []
        for dets in inputs:
            tracked = tracker.update(dets)
            out.append((tracked.track_id, tracked.xyxy))
        return out

    return replay


def trackers_peer(scene: Scene, name: str) -> Run:
    """`trackers` ByteTrack or SORT with their defaults."""
    import supervision as sv
    import trackers

    make = {"bytetrack": trackers.ByteTrackTracker, "sort": trackers.SORTTracker}[name]
    inputs = [sv.Detections(xyxy=b, confidence=c, class_id=np.full(len(b), 2))
              for b, c in zip(scene.xyxy, scene.confidence, strict=True)]

    def replay() -> list[Boxes]:
        tracker = make(frame_rate=FPS)
        out = []
        for dets in inputs:
            tracked = tracker.update(dets)
            keep = tracked.tracker_id >= 0
            out.append((tracked.tracker_id[keep], tracked.xyxy[keep]))
        return out

    return replay


def ultralytics_peer(scene: Scene) -> Run:
    """ultralytics' BYTETracker with its `bytetrack.yaml` defaults."""
    from ultralytics.engine.results import Boxes as UltraBoxes
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import ROOT, YAML

    args = SimpleNamespace(**YAML.load(ROOT / "cfg" / "trackers" / "bytetrack.yaml"))
    inputs = [UltraBoxes(np.hstack([b, c[:, None], np.full((len(b), 1), 2.0)]), SIZE[::-1])
              for b, c in zip(scene.xyxy, scene.confidence, strict=True)]

    def replay() -> list[Boxes]:
        tracker = BYTETracker(args)
        out = []
        for boxes in inputs:
            tracked = tracker.update(boxes)
            out.append((tracked[:, 4].astype(np.int64), tracked[:, :4]))
        return out

    return replay


def identity_scores(truth: list[Boxes], hypotheses: list[Boxes]) -> dict[str, float]:
    """IDF1, ID switches and MOTA of tracker output against the ground truth (IoU >= 0.5)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for (gt_ids, gt_xyxy), (ids, xyxy) in zip(truth, hypotheses, strict=True):
        xywh = [np.hstack([b[:, :2], b[:, 2:] - b[:, :2]]) for b in (gt_xyxy, np.asarray(xyxy))]
        acc.update(gt_ids, ids, iou_distance(*xywh, 0.5))
    summary = mm.metrics.create().compute(acc, metrics=["idf1", "num_switches", "mota"])
    return {k: float(summary[k].iloc[0]) for k in ("idf1", "num_switches", "mota")}


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--densities", nargs="+", type=int, default=[10, 30, 100])
    p.add_argument("--frames", type=int, default=300, help="frames per scene")
    args, argv = parse(p, argv)
    pin_threads()
    rows, results = [], {}
    for density in args.densities:
        scene = make_scene(density, args.frames)
        runs: dict[str, Run] = {
            "ours": ours(scene, embed_every=1), "ours_embed_every_4": ours(scene, embed_every=4),
            "ours_motion": ours(scene, embed_every=0),
            "bytetrack": trackers_peer(scene, "bytetrack"), "sort": trackers_peer(scene, "sort"),
            "ultralytics_bytetrack": ultralytics_peer(scene),
        }
        cases: dict[str, Case] = {name: (lambda r=r: timed(r, args.frames))
                                  for name, r in runs.items()}
        timing = interleave(cases, args.repeats, args.warmup)
        scores = {name: identity_scores(scene.truth, r()) for name, r in runs.items()}
        dets = float(np.mean([len(b) for b in scene.xyxy]))
        results[str(density)] = {"detections_per_frame": dets, "scores": scores, **{
            name: {"fps": stats(column(v)), "ratio_to_bytetrack": ratio(v, timing["bytetrack"])}
            for name, v in timing.items()}}
        for name in runs:
            r = results[str(density)][name]["ratio_to_bytetrack"]
            holds = ""
            if density == 30 and name.startswith("ours"):
                holds = "yes" if r["median"] >= TARGET and (
                    scores["ours"]["idf1"] >= scores["bytetrack"]["idf1"]) else "NO"
            rows.append([f"{density} ({dets:.0f})", name,
                         fmt(results[str(density)][name]["fps"]["median"], 0), fmt_ratio(r),
                         fmt(scores[name]["idf1"], 3), int(scores[name]["num_switches"]),
                         fmt(scores[name]["mota"], 3), holds])
    return report("b3_tracker",
                  f"B3 tracker only, {args.frames} synthetic frames per density; target at 30: "
                  f"ours/ByteTrack >= {TARGET} and IDF1 >= ByteTrack's (ours: embeddings on every "
                  "frame, every 4th (the default with CNN checkpoints), none)",
                  ["density (dets/frame)", "tracker", "fps", "ratio to ByteTrack", "IDF1",
                   "ID sw", "MOTA", "holds"], rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b3_tracker")
