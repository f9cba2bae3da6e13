"""Night levers, detection only: recall per class of a scene's night cameras, per pre-processing.

For each lever (`enhance.night_denoise` + `enhance.night`), a fresh `FramePreparer` and the
`Detector` run over a rendered scene's night cameras (every frame goes through the preparer, so
the temporal denoiser sees the whole sequence; every `--stride`-th is detected). Frames the
estimate does not call night pass unchanged, as in the pipeline. Boxes are kept down to the
lowest `--thresholds` and scored per threshold: ground-truth boxes matched one-to-one (Hungarian)
at IoU >= 0.5, recall per class, and precision (share of the kept boxes that matched one); and the
pre-processing cost in ms per frame. Much cheaper than running the pipeline once per lever;
per-camera IDF1 needs `bench.accuracy`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from bench.common import DETECTOR
from mcvrt.boxes import box_iou
from mcvrt.config import load_config
from mcvrt.detection import Detector
from mcvrt.enhance import FramePreparer
from mcvrt.video import probe_cameras, read_frames

CLASSES = {2: "car", 5: "bus", 7: "truck", 3: "motorcycle"}


def ground_truth(scene: Path, camera: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """0-based frame -> (xyxy boxes, COCO classes) of one camera."""
    rows = np.loadtxt(scene / "gt" / camera / "gt.txt", delimiter=",", ndmin=2)
    out = {}
    for f in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == f]
        out[f - 1] = (np.c_[r[:, 2:4], r[:, 2:4] + r[:, 4:6]], r[:, 7].astype(int))
    return out


def hits(gt_xyxy: np.ndarray, det_xyxy: np.ndarray) -> np.ndarray:
    """(G,) True where a ground-truth box has its own detection at IoU >= 0.5."""
    found = np.zeros(len(gt_xyxy), bool)
    if len(gt_xyxy) and len(det_xyxy):
        iou = box_iou(gt_xyxy, det_xyxy)
        rows, cols = linear_sum_assignment(-iou)
        found[rows[iou[rows, cols] >= 0.5]] = True
    return found


def measure(scene: Path, camera: str, lever: str, detector: Detector, base, stride: int,
            thresholds: list[float]) -> dict:
    """Recall per class and threshold, night share and pre-processing ms of one lever."""
    denoise, _, night = lever.partition("+")
    prepare = FramePreparer(replace(base.enhance, night_denoise=denoise, night=night or "none"))
    truth = ground_truth(scene, camera)
    cam = probe_cameras([scene / f"{camera}.mp4"])[0]
    found = {t: {} for t in thresholds}
    kept = dict.fromkeys(thresholds, 0)
    total: dict[str, int] = {}
    seconds, nights, detected = 0.0, 0, 0
    for frame in read_frames(cam, 1, None):
        t = time.perf_counter()
        condition, image = prepare(frame.image)
        seconds += time.perf_counter() - t
        nights += condition == "night"
        if frame.index % stride:
            continue
        detected += 1
        dets = detector(image)
        boxes, classes = truth.get(frame.index, (np.zeros((0, 4)), np.zeros(0, int)))
        for c in np.unique(classes):
            total[CLASSES[c]] = total.get(CLASSES[c], 0) + int((classes == c).sum())
        for thr in thresholds:
            hit = hits(boxes, dets.xyxy[dets.confidence >= thr])
            kept[thr] += int((dets.confidence >= thr).sum())
            for c in np.unique(classes):
                name = CLASSES[c]
                found[thr][name] = found[thr].get(name, 0) + int(hit[classes == c].sum())
    frames = frame.index + 1
    recall = {str(thr): {k: found[thr].get(k, 0) / n for k, n in total.items()}
              | {"cars+trucks+buses": sum(found[thr].get(k, 0) for k in ("car", "truck", "bus"))
                 / max(1, sum(total.get(k, 0) for k in ("car", "truck", "bus")))}
              for thr in thresholds}
    precision = {str(thr): sum(found[thr].values()) / max(1, kept[thr]) for thr in thresholds}
    return {"scene": scene.name, "camera": camera, "lever": lever, "boxes": total,
            "frames_detected": detected, "night_share": nights / frames,
            "ms_per_frame": 1000 * seconds / frames, "recall": recall, "precision": precision}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenes", nargs="+", type=Path, help="rendered scene folders")
    p.add_argument("--levers", nargs="+", default=["none"],
                   help="DENOISE[+NIGHT], e.g. none, bilateral, temporal+clahe, none+gamma")
    p.add_argument("--thresholds", nargs="+", type=float, default=[0.25, 0.15, 0.1, 0.05])
    p.add_argument("--stride", type=int, default=2, help="detect every k-th frame")
    p.add_argument("--cameras", nargs="+", help="default: each scene's night cameras")
    p.add_argument("--upscale", type=float, default=1.0,
                   help="detector.upscale: tiles enlarged to the model input besides the frame")
    p.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    args = p.parse_args()
    base = load_config(None)
    low = min(args.thresholds)
    detector = Detector(replace(base.detector, weights=str(DETECTOR), confidence=low,
                                night_confidence=low, fog_confidence=low, upscale=args.upscale))
    for scene in args.scenes:
        cams = json.loads((scene / "scenario.json").read_text())["cameras"]
        names = args.cameras or [c["name"] for c in cams if c["condition"] == "night"]
        for camera in names:
            for lever in args.levers:
                row = measure(scene, camera, lever, detector, base, args.stride, args.thresholds)
                row["upscale"] = args.upscale
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                r, pr = row["recall"], row["precision"]
                print(scene.name, camera, lever, f"night {row['night_share']:.2f}",
                      f"{row['ms_per_frame']:.1f} ms", " ".join(
                          f"{t}: {r[t]['cars+trucks+buses']:.3f} (p {pr[t]:.2f})" for t in r),
                      flush=True)


if __name__ == "__main__":
    main()
