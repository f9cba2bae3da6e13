"""Association ablation on the scene evaluation set: each variant of the matching settings redone
with `mcvrt rematch` on the stored tracklets of one `bench.accuracy` run, then scored.

    python -m bench.accuracy --out runs/assoc/base          # once: run and store tracklets
    python -m bench.association --runs runs/assoc/base      # every variant, in seconds

A stored run keeps the matching settings it ran with; `--set KEY=VALUE` overrides them for
every variant (e.g. the current defaults over an older run's).

Per scene and variant: cross-camera IDF1 and its ratio to the oracle-link bound, and per-camera
IDF1 of the global ids (each camera alone: what joining tracks within a camera, e.g. re-linked
fragments, changes). With a learned camera-link model, also how its windows fit the true
transitions (from scenario.json: from a vehicle's last frame in one camera's view to its first
frame in another's, frames where the ground truth has its box): the share of true transitions
inside the learned window of their camera pair, and how far the window ends lie from the
shortest and longest true travel times. Writes `--out/association.json` and
`--out/association.md`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.accuracy import CACHE, SCENES, load_scenes
from bench.common import ROOT, entry, parse, report
from mcvrt.api import parse_overrides
from mcvrt.association import NO_LINKS
from mcvrt.association.topology import load_topology
from mcvrt.errors import InputError
from mcvrt.evaluation import evaluate_run
from mcvrt.pipeline import LEARNED_TOPOLOGY, rematch

OUT = ROOT / "runs" / "association"
# name -> matching settings over the run's own (current defaults for keys it lacks)
VARIANTS: dict[str, dict[str, Any]] = {
    "default (link model, fragments, re-ranking)": {},
    "plain cosine (no camera centring)": {"scorer": "cosine"},
    "no re-ranking": {"rerank": False},
    "no fragments": {"fragments": False},
    "no re-ranking, no fragments": {"rerank": False, "fragments": False},
    "no link model": {"link_rounds": 0},
    "no link model, no re-ranking, no fragments": {"link_rounds": 0, "rerank": False,
                                                   "fragments": False},
    "link model, 1 round": {"link_rounds": 1},
    "link model, 3 rounds": {"link_rounds": 3},
    "window confidence 0.75": {"link_confidence": 0.75},
    "first-round windows at confidence 0.5": {"link_seed_confidence": 0.5},
    "window margin 1 s": {"link_margin_s": 1.0},
    "tracklet ends carried to the view border (view_lead_s 2)": {"view_lead_s": 2.0},
    "fragments, similarity 0.7": {"fragment_min_similarity": 0.7},
}


def true_transitions(scene_dir: Path) -> dict[tuple[str, str], list[float]]:
    """Ordered camera pair -> gaps (s) from a vehicle's last frame in one camera's view to its
    first frame in the next camera's, over every pair of sightings of a ground-truth vehicle
    (sightings with no frame in view left out). In view: the frames where the ground truth
    has its box (visible enough); its lane path begins and ends outside the image."""
    scenario = json.loads((scene_dir / "scenario.json").read_text())
    fps = scenario["fps"]
    gaps: dict[tuple[str, str], list[float]] = {}
    for identity in scenario["identities"]:
        seen = sorted((a for a in identity["appearances"] if a["first_frame"] is not None),
                      key=lambda a: a["first_frame"])
        for k, a in enumerate(seen):
            for b in seen[k + 1 :]:
                if a["camera"] != b["camera"]:
                    gaps.setdefault((a["camera"], b["camera"]), []).append(
                        (b["first_frame"] - a["last_frame"]) / fps)
    return gaps


def window_fit(learned: Path, truth: dict[tuple[str, str], list[float]], min_transitions: int
               ) -> dict[str, dict[str, float]]:
    """Per ordered camera pair with at least `min_transitions` true transitions: the share
    inside the learned window and the distance of its ends from the true extremes (seconds)."""
    topology = load_topology(learned) if learned.is_file() else {}
    fit = {}
    for pair, gaps in sorted(truth.items()):
        if len(gaps) < min_transitions:
            continue
        link = topology.get(pair)
        row: dict[str, float] = {"transitions": len(gaps), "learned": link is not None}
        if link is not None:
            row |= {"inside": sum(link.min_s <= g <= link.max_s for g in gaps) / len(gaps),
                    "min_off_s": link.min_s - min(gaps), "max_off_s": link.max_s - max(gaps)}
        fit["->".join(pair)] = row
    return fit


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=Path, required=True,
                   help="a `bench.accuracy --out` folder: one stored run per scene")
    p.add_argument("--scene-file", type=Path, default=SCENES,
                   help="the set the runs are of (bench.accuracy --scene-file)")
    p.add_argument("--cache", type=Path,
                   help="the rendered scenes (default: runs/ and the scene file's name)")
    p.add_argument("--out", type=Path, default=OUT, help="rematch folders and results")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="matching settings for every variant, e.g. min_similarity=0.8")
    p.add_argument("--fit-min", type=int, default=20,
                   help="camera pairs with fewer true transitions are left out of the fit")
    args, argv = parse(p, argv)
    common = parse_overrides(args.set)
    args.cache = args.cache or CACHE.with_name(args.scene_file.stem)
    scenes = [s for s in load_scenes(args.scene_file)
              if (args.runs / s / "tracklets.json").is_file()]
    if not scenes:
        raise InputError(f"no stored runs of {args.scene_file.name}'s scenes in {args.runs}")
    results: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    for variant in args.variants:
        settings = common | VARIANTS[variant]
        for scene in scenes:
            out = args.out / "".join(c if c.isalnum() else "_" for c in variant) / scene
            rematch(args.runs / scene, out, settings, NO_LINKS)
            evaluation = evaluate_run(args.cache / scene, out)
            cross, oracle = evaluation.cross_camera.idf1, evaluation.oracle_link.idf1
            results.setdefault(variant, {})[scene] = {
                "cross_idf1": cross, "oracle_link_idf1": oracle,
                "camera_global_idf1": statistics.fmean(
                    s.idf1 for s in evaluation.camera_global.values()),
                "cross_over_oracle": cross / oracle if oracle else float("nan"),
                "window_fit": window_fit(out / LEARNED_TOPOLOGY,
                                         true_transitions(args.cache / scene), args.fit_min)}
    headers = ["variant", *scenes, "mean cross IDF1", "mean cross / oracle",
               "mean per-camera IDF1 (global ids)"]
    rows = [[variant, *(f"{r[s]['cross_idf1']:.3f}" for s in scenes),
             *(f"{statistics.fmean(r[s][k] for s in scenes):.3f}"
               for k in ("cross_idf1", "cross_over_oracle", "camera_global_idf1"))]
            for variant, r in results.items()]
    oracle_row = ["oracle-link bound", *(f"{results[args.variants[0]][s]['oracle_link_idf1']:.3f}"
                                         for s in scenes), "", "", ""]
    md = [f"| {' | '.join(headers)} |", "|" + "---|" * len(headers)]
    md += [f"| {' | '.join(row)} |" for row in [*rows, oracle_row]]
    md += ["", f"Learned windows on camera pairs with >= {args.fit_min} true transitions:", "",
           "| variant | scene | pair | true transitions | inside | min off s | max off s |",
           "|---|---|---|---|---|---|---|"]
    md += [f"| {variant} | {scene} | {pair} | {f['transitions']} | "
           + (f"{f['inside']:.2f} | {f['min_off_s']:+.1f} | {f['max_off_s']:+.1f} |"
              if f["learned"] else "not learned | | |")
           for variant, r in results.items() for scene in scenes
           for pair, f in r[scene]["window_fit"].items()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "association.md").write_text("\n".join(md) + "\n")
    return report("association", f"Association variants by rematch of {args.runs} "
                  f"({time.perf_counter() - start:.0f} s)", headers, [*rows, oracle_row],
                  {"settings": common, "variants": {v: VARIANTS[v] for v in args.variants},
                   "scenes": results}, args, argv)


if __name__ == "__main__":
    entry(main, "bench.association")
