"""B5 cross-camera matching scale: `match_tracklets` vs all-pairs, 100 -> 10,000 tracklets.

Synthetic road network at fixed density: vehicles arrive at a constant rate and each drives past
1-4 of the cameras (2-10 s in view, 5-60 s between cameras), so the number of tracklets grows
with the duration, not the traffic. Each vehicle has a 512-d appearance vector (vehicles of one of
50 look-alike groups share part of it) and each tracklet a noisy copy of it, similar enough
for the colour histogram's default `matching.min_similarity`.
Ours: the whole `association.match_tracklets` (time-blocked candidates, graph, constrained
clustering): plain (`matching.link_rounds` 0, no re-ranking), with k-reciprocal re-ranking
(`matching.rerank`, neighbours found in the same time blocks) and with the learned camera-link
model (`matching.link_rounds`, default rounds; the synthetic boxes do not move, so only its
windows gate). Baseline: the all-pairs N x N cosine matrix, thresholded, then the same
camera and time filter (candidate edges only, no clustering). Plain matching finds the same
edges (checked). Time is
measured without, peak memory (Python + NumPy allocations, tracemalloc) in a separate run with
tracing.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from bench.common import (
    Metrics,
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
)
from mcvrt.association import match_tracklets
from mcvrt.config import MatchingConfig
from mcvrt.types import Tracklet
from reid.embedder import COLOR_HISTOGRAM

SLOPE_TARGET, SECONDS_TARGET, MB_TARGET = 1.3, 5.0, 2048
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--sizes", "50", "100", "--cameras", "4", "--repeats", "1", "--warmup", "0"]
FPS, DIM, GROUPS = 10.0, 512, 50
VISITS_PER_VEHICLE = 2.5  # mean of 1..4


def make_tracklets(n: int, cameras: int, min_similarity: float, rate: float = 2.0,
                   seed: int = 0) -> list[Tracklet]:
    """About `n` tracklets from vehicles arriving at `rate` per second (duration grows with n).

    Two sightings of one vehicle have cosine similarity about halfway between `min_similarity`
    and 1, so most true pairs become edges; look-alike vehicles stay near 0.36.
    """
    rng = np.random.default_rng(seed)
    noise = np.sqrt((2 / (1 + min_similarity) - 1) / DIM)
    groups = rng.normal(size=(GROUPS, DIM))
    groups /= np.linalg.norm(groups, axis=1, keepdims=True)
    next_id = dict.fromkeys(range(cameras), 1)
    out: list[Tracklet] = []
    t = 0.0
    while len(out) < n:
        t += rng.exponential(1 / rate)
        own = rng.normal(size=DIM)
        vector = 0.6 * groups[rng.integers(GROUPS)] + 0.8 * own / np.linalg.norm(own)
        start = t
        for camera in rng.permutation(cameras)[: rng.integers(1, 5)]:
            frames = np.arange(round(start * FPS), round((start + rng.uniform(2, 10)) * FPS))
            seen = vector + rng.normal(0, noise, DIM)
            out.append(Tracklet(
                camera_id=f"c{camera}", track_id=next_id[camera], frames=frames.astype(np.int64),
                xyxy=np.tile(np.float32([100, 100, 180, 160]), (len(frames), 1)),
                confidence=np.full(len(frames), 0.8, np.float32), class_id=2,
                embedding=(seen / np.linalg.norm(seen)).astype(np.float32), fps=FPS))
            next_id[camera] += 1
            start = frames[-1] / FPS + rng.uniform(5, 60)
    return out[:n]


def all_pairs_edges(tracklets: Sequence[Tracklet], cfg: MatchingConfig) -> set[tuple]:
    """Baseline: every pair's cosine similarity at once, then the camera and time filter."""
    emb = np.stack([t.embedding for t in tracklets])
    sim = emb @ emb.T
    i, j = np.nonzero(sim >= cfg.min_similarity)
    upper = i < j
    i, j = i[upper], j[upper]
    starts = np.array([t.start_s for t in tracklets])
    ends = np.array([t.end_s for t in tracklets])
    cams = np.array([t.camera_id for t in tracklets])
    gap = np.maximum(starts[i], starts[j]) - np.minimum(ends[i], ends[j])
    keep = (cams[i] != cams[j]) & (gap <= cfg.max_transition_s)
    keys = [t.key for t in tracklets]
    return {tuple(sorted((keys[a], keys[b]))) for a, b in zip(i[keep], j[keep], strict=True)}


def ours_edges(tracklets: Sequence[Tracklet], cfg: MatchingConfig) -> set[tuple]:
    _, graph = match_tracklets(tracklets, cfg)
    return {tuple(sorted(e)) for e in graph.edges}


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak traced allocation (MB) while `fn` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def seconds_case(fn: Callable[[], object]) -> Callable[[], Metrics]:
    """Wall seconds of `fn()`, from a freshly collected heap."""

    def case() -> Metrics:
        gc.collect()
        start = time.perf_counter()
        fn()
        return {"seconds": time.perf_counter() - start}

    return case


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[100, 300, 1000, 3000, 10000])
    p.add_argument("--cameras", type=int, default=6, help="cameras (4-8 in the acceptance)")
    args, argv = parse(p, argv)
    pin_threads()
    cfg = MatchingConfig(rerank=False, link_rounds=0).resolved(COLOR_HISTOGRAM)
    ours = {"ours": cfg, "ours_rerank": replace(cfg, rerank=True),
            "ours_links": replace(cfg, link_rounds=2)}
    rows, results = [], {}
    for n in args.sizes:
        tracklets = make_tracklets(n, args.cameras, cfg.min_similarity)
        edges = ours_edges(tracklets, ours["ours"])
        same = edges == all_pairs_edges(tracklets, cfg)
        fns = {name: lambda t=tracklets, c=c: match_tracklets(t, c) for name, c in ours.items()}
        fns["all_pairs"] = lambda t=tracklets: all_pairs_edges(t, cfg)
        runs = interleave({name: seconds_case(fn) for name, fn in fns.items()}, args.repeats,
                          args.warmup)
        memory = {name: peak_mb(fn) for name, fn in fns.items()}
        duration = max(t.end_s for t in tracklets)
        seconds = {k: stats(column(v, "seconds")) for k, v in runs.items()}
        results[str(n)] = {"duration_s": duration, "edges": len(edges), "same_edges": same,
                           "seconds": seconds,
                           "time_ratio_ours_over_all_pairs": ratio(runs["ours"], runs["all_pairs"],
                                                                   "seconds"),
                           "peak_mb": memory}
        rows.append([n, fmt(duration, 0), len(edges), "yes" if same else "NO",
                     *(fmt(seconds[k]["median"], 3) for k in fns),
                     fmt_ratio(results[str(n)]["time_ratio_ours_over_all_pairs"]),
                     *(fmt(memory[k], 1) for k in fns)])
    lo, hi = (1000, 10000) if {1000, 10000} <= set(args.sizes) else (min(args.sizes),
                                                                       max(args.sizes))
    top, slopes, verdicts = results[str(hi)], [], []
    for name in ours:
        seconds = {n: results[str(n)]["seconds"][name]["median"] for n in (lo, hi)}
        slope = (math.log(seconds[hi] / seconds[lo]) / math.log(hi / lo) if hi > lo
                 else float("nan"))
        holds = (slope <= SLOPE_TARGET and seconds[hi] < SECONDS_TARGET
                 and top["peak_mb"][name] < MB_TARGET)
        results[f"slope_{name}"] = {"from": lo, "to": hi, "value": slope, "holds": holds}
        slopes.append(fmt(slope, 2))
        verdicts.append("holds" if holds else "does NOT hold")
    rows.append([f"slope {lo}->{hi}", "", "", "", *slopes, "", "", *verdicts, ""])
    return report("b5_matching",
                  f"B5 cross-camera matching, {args.cameras} cameras, fixed density; targets at "
                  f"10k: < {SECONDS_TARGET:.0f} s, < {MB_TARGET} MB, log-log slope 1k->10k "
                  f"<= {SLOPE_TARGET}; plain, with k-reciprocal re-ranking, with the learned "
                  f"camera-link model",
                  ["tracklets", "span s", "edges", "same edges", "ours s", "ours+rerank s",
                   "ours+links s", "all-pairs s", "ours/all-pairs time", "ours peak MB",
                   "ours+rerank peak MB", "ours+links peak MB", "all-pairs peak MB"],
                  rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b5_matching")
