"""Night tracking levers: one night camera's output recall per class and per-camera IDF1, per
setting, replaying cached detections.

The detector's boxes of a scene's night camera (after the configured night pre-processing, kept
down to confidence 0.05) are computed once and cached in `--cache`; each setting (pipeline config
overrides, e.g. "tracker.n_init=2 output.interpolate_max_gap=20") then runs the camera's real
per-frame loop (`mcvrt.camera.track_camera`: threshold, ALSA embeddings, tracker, gap filling)
on them. Per setting: detector recall (every frame, at the setting's night threshold), output
recall per class (`bench.night_recall`) and per-camera IDF1, MOTA, ID switches. The camera's
scores do not depend on the other cameras, so this matches `bench.accuracy`'s per-camera figures
at a fraction of its time (the detector runs once per scene and pre-processing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.accuracy import pipeline_config
from bench.common import DETECTOR
from bench.night_levers import ground_truth
from bench.night_recall import class_recall
from mcvrt.appearance import load_embed
from mcvrt.camera import StageTimes, track_camera
from mcvrt.config import PipelineConfig
from mcvrt.enhance import FramePreparer
from mcvrt.evaluation import camera_scores
from mcvrt.types import Detections
from mcvrt.video import probe_cameras, read_frames

# detector settings the pipeline applies to the detector's boxes (kept down to
# `lowest_confidence`), which leave the boxes themselves unchanged
AFTER_DETECTION = ("night_track_confidence", "night_class_confidence",
                   "night_class_track_confidence")


def cached_detections(scene: Path, camera: str, cfg: PipelineConfig, cache: Path
                      ) -> list[Detections]:
    """Per frame, the configured detector's boxes (down to `lowest_confidence`) on the
    pre-processed frame; computed once per scene, camera, pre-processing and the detector
    settings that change its boxes (not the thresholds applied after it)."""
    from mcvrt.detection import Detector, lowest_confidence

    detector = {k: v for k, v in asdict(cfg.detector).items() if k not in AFTER_DETECTION}
    key = json.dumps([str(scene.resolve()), camera, asdict(cfg.enhance), detector,
                      lowest_confidence(cfg.detector)], default=str)
    path = cache / f"{scene.name}_{camera}_{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"
    if path.is_file():
        data = np.load(path)
        return [Detections(data[f"xyxy{i}"], data[f"conf{i}"], data[f"cls{i}"])
                for i in range(int(data["frames"]))]
    model, prepare = Detector(cfg.detector), FramePreparer(cfg.enhance)
    frames = [model(prepare(f.image)[1])
              for f in read_frames(probe_cameras([scene / f"{camera}.mp4"])[0], 1, None)]
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {"frames": np.array(len(frames))}
    for i, d in enumerate(frames):
        arrays |= {f"xyxy{i}": d.xyxy, f"conf{i}": d.confidence, f"cls{i}": d.class_id}
    np.savez_compressed(path, **arrays)
    return frames


def replay(scene: Path, camera: str, cfg: PipelineConfig, frames: list[Detections]) -> dict:
    """Track the camera on cached detections with `cfg`; its recall and tracking scores."""
    detections = iter(frames)

    def detect(image: np.ndarray) -> Detections:  # frames arrive in order, one call each
        return next(detections)

    cam = probe_cameras([scene / f"{camera}.mp4"])[0]
    _, tracklets, _ = track_camera(cam, cfg, detect, load_embed(cfg.appearance), StageTimes())
    rows = [np.c_[t.frames + 1, np.full(len(t.frames), t.track_id), t.xyxy[:, :2],
                  t.xyxy[:, 2:] - t.xyxy[:, :2]] for t in tracklets]
    pred = np.concatenate(rows) if rows else np.zeros((0, 6))
    boxes = {int(f) - 1: np.c_[r[:, 2:4], r[:, 2:4] + r[:, 4:6]]
             for f in np.unique(pred[:, 0]) if len(r := pred[pred[:, 0] == f])}
    truth = ground_truth(scene, camera)
    detected = {i: d.xyxy[d.confidence >= np.array([cfg.detector.confidence_for("night", c)
                                                      for c in d.class_id.tolist()], np.float32)]
                for i, d in enumerate(frames)}
    gt = np.loadtxt(scene / "gt" / camera / "gt.txt", delimiter=",", ndmin=2)[:, :6]
    scores = camera_scores(gt, pred)
    output = class_recall(truth, boxes)
    return {"boxes": output["boxes"], "detector_recall": class_recall(truth, detected)["recall"],
            "output_recall": output["recall"], "output_precision": output["precision"],
            "idf1": scores.idf1, "mota": scores.mota, "id_switches": scores.id_switches,
            "tracks": len(tracklets)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenes", nargs="+", type=Path, help="rendered scene folders")
    p.add_argument("--settings", nargs="+", default=[""],
                   help='space-separated KEY=VALUE overrides per setting, a value with spaces '
                        'shell-quoted ("" = the defaults)')
    p.add_argument("--cache", type=Path, default=Path("runs/night_detections"))
    p.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    args = p.parse_args()
    for scene in args.scenes:
        cams = json.loads((scene / "scenario.json").read_text())["cameras"]
        for camera in [c["name"] for c in cams if c["condition"] == "night"]:
            for setting in args.settings:
                cfg = pipeline_config(None, shlex.split(setting), str(DETECTOR))
                frames = cached_detections(scene, camera, cfg, args.cache)
                row = {"scene": scene.name, "camera": camera, "setting": setting or "defaults"}
                row |= replay(scene, camera, cfg, frames)
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(scene.name, camera, f"[{row['setting']}]",
                      f"det {row['detector_recall']['cars+trucks+buses']:.3f}",
                      f"out {row['output_recall']['cars+trucks+buses']:.3f}",
                      "(" + " / ".join(f"{k} {v:.2f}" for k, v in row["output_recall"].items()
                                       if k in ("car", "truck")) + ")",
                      f"p {row['output_precision']:.2f} IDF1 {row['idf1']:.3f}",
                      f"IDs {row['id_switches']}", flush=True)


if __name__ == "__main__":
    main()
