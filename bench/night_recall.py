"""Output recall per class: the boxes a run wrote (`mot/<camera>.txt`) against the ground truth.

What a user gets from a night camera is the pipeline's output, not the detector's boxes: a
detection counts only once its track is confirmed, and interpolation adds boxes the detector
missed. Per camera of each `RUN:SCENE` pair: ground-truth boxes per class, the share matched
one-to-one (Hungarian) at IoU >= 0.5 by an output box of the same frame, and the output's
precision. `mcvrt eval` gives the same recall over all classes (1 - misses / ground-truth boxes);
this splits it by class.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.night_levers import CLASSES, ground_truth, hits

VEHICLES = ("car", "truck", "bus")


def output_boxes(run: Path, camera: str) -> dict[int, np.ndarray]:
    """0-based frame -> xyxy boxes of the run's MOTChallenge file for `camera`."""
    rows = np.loadtxt(run / "mot" / f"{camera}.txt", delimiter=",", ndmin=2)
    return {int(f) - 1: np.c_[r[:, 2:4], r[:, 2:4] + r[:, 4:6]]
            for f in np.unique(rows[:, 0]) if len(r := rows[rows[:, 0] == f])}


def class_recall(truth: dict[int, tuple[np.ndarray, np.ndarray]],
                 boxes: dict[int, np.ndarray]) -> dict:
    """Per-class recall of `boxes` (0-based frame -> xyxy) against `truth` (`ground_truth`),
    with cars + trucks + buses together, and the boxes' precision."""
    found: dict[str, int] = {}
    total: dict[str, int] = {}
    for frame, (gt_xyxy, classes) in truth.items():
        hit = hits(gt_xyxy, boxes.get(frame, np.zeros((0, 4))))
        for c in np.unique(classes):
            name = CLASSES[int(c)]
            total[name] = total.get(name, 0) + int((classes == c).sum())
            found[name] = found.get(name, 0) + int(hit[classes == c].sum())
    output = sum(len(b) for b in boxes.values())
    vehicles = sum(total.get(k, 0) for k in VEHICLES)
    recall = {k: found.get(k, 0) / n for k, n in total.items()}
    recall["cars+trucks+buses"] = sum(found.get(k, 0) for k in VEHICLES) / max(1, vehicles)
    return {"boxes": total, "output_boxes": output, "recall": recall,
            "precision": sum(found.values()) / max(1, output)}


def output_recall(run: Path, scene: Path, camera: str) -> dict:
    """Per-class recall and the precision of one camera's output boxes."""
    scores = class_recall(ground_truth(scene, camera), output_boxes(run, camera))
    return {"run": str(run), "camera": camera} | scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs", nargs="+", metavar="RUN:SCENE",
                   help="a run folder and the rendered scene it ran on")
    p.add_argument("--cameras", nargs="+", help="default: each scene's night cameras")
    args = p.parse_args()
    for pair in args.pairs:
        run, _, scene = pair.partition(":")
        cams = json.loads((Path(scene) / "scenario.json").read_text())["cameras"]
        for camera in args.cameras or [c["name"] for c in cams if c["condition"] == "night"]:
            row = output_recall(Path(run), Path(scene), camera)
            print(json.dumps(row))


if __name__ == "__main__":
    main()
