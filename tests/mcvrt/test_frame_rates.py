"""Cameras at different frame rates and with clock offsets are matched on one time axis: one
rendered scene, cam1 at 10 fps and cam2 at 15 fps starting 1 s late, through the real pipeline."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from mcvrt.config import PipelineConfig
from mcvrt.pipeline import run
from mcvrt.scenario import DEFAULT_SCENARIO, ScenarioConfig, build_scenario
from mcvrt.video import probe_cameras
from reid.config import load_yaml
from tests.conftest import SHARED

FPS = {"cam1": 10.0, "cam2": 15.0}
LATE_S = 1.0  # cam2's video starts this long after the scene's clock


def drop_first(src: Path, dst: Path, frames: int) -> Path:
    """`src` without its first `frames` frames (a camera that started recording later)."""
    cap = cv2.VideoCapture(str(src))
    fps, size = cap.get(cv2.CAP_PROP_FPS), (int(cap.get(3)), int(cap.get(4)))
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    index = 0
    while (ok := cap.read())[0]:
        if index >= frames:
            writer.write(ok[1])
        index += 1
    writer.release()
    return dst


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two x, y, w, h boxes."""
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[:2] + a[2:], b[:2] + b[2:])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


@pytest.mark.slow
def test_two_frame_rates_and_a_late_start_link_on_one_time_axis(detector_dir: Path,
                                                                 tmp_path: Path,
                                                                 record_property):
    if not (SHARED / "reid").is_dir():
        pytest.skip("shared crops not available")
    scene_cfg = load_yaml(ScenarioConfig, DEFAULT_SCENARIO)
    cam1, cam2 = scene_cfg.cameras[:2]
    scene_cfg = replace(scene_cfg, cameras=(replace(cam1, fps=FPS["cam1"]),
                                            replace(cam2, fps=FPS["cam2"])),
                        links=scene_cfg.links[:1], duration_s=14.0,
                        traffic=replace(scene_cfg.traffic, vehicles=6, single_camera_fraction=0))
    scene = build_scenario(scene_cfg, tmp_path / "scene")
    late = round(LATE_S * FPS["cam2"])
    videos = [scene / "cam1.mp4", drop_first(scene / "cam2.mp4", tmp_path / "cam2.mp4", late)]
    cfg = PipelineConfig()
    cfg = replace(cfg, detector=replace(cfg.detector, weights=str(detector_dir)))
    result = run(cfg, probe_cameras(videos, time_offsets_s=[0.0, LATE_S]), tmp_path / "run")
    assert [c.fps for c in result.cameras] == [FPS["cam1"], FPS["cam2"]]

    # ground truth: scene time of each box; cam2's frames shifted by the frames it missed
    truth: dict[tuple[str, int], list[tuple[int, np.ndarray]]] = {}
    for line in (scene / "gt" / "multicamera.txt").read_text().splitlines():
        c, gid, frame, x, y, w, h = (int(v) for v in line.split()[:7])
        camera = f"cam{c}"
        run_frame = frame - 1 - (late if camera == "cam2" else 0)
        if run_frame >= 0:
            truth.setdefault((camera, run_frame), []).append((gid, np.array([x, y, w, h], float)))
    found: dict[tuple[str, int], Counter[int]] = {}  # (camera, true id) -> global ids given
    matched, worst = 0, 0.0
    with (tmp_path / "run" / "tracks.csv").open() as f:
        for row in csv.DictReader(f):
            camera, frame = row["camera_id"], int(row["frame"])
            box = np.array([float(row[k]) for k in "xywh"])
            best = max(truth.get((camera, frame), []), key=lambda t: iou(t[1], box),
                       default=None)
            if best is None or iou(best[1], box) < 0.5:
                continue
            matched += 1
            scene_s = (frame + (late if camera == "cam2" else 0)) / FPS[camera]
            error = abs(float(row["time_s"]) - scene_s)
            assert error <= 1 / FPS[camera], row
            worst = max(worst, error)
            found.setdefault((camera, best[0]), Counter())[int(row["global_id"])] += 1
    assert matched >= 0.5 * sum(len(v) for v in truth.values())
    both = [g for (c, g) in found if c == "cam1" and ("cam2", g) in found]
    linked = [g for g in both if found[("cam1", g)].most_common(1)[0][0]
              == found[("cam2", g)].most_common(1)[0][0]]
    record_property("figures", {"boxes": sum(len(v) for v in truth.values()), "matched": matched,
                                "worst_time_error_s": worst, "two_camera_vehicles": len(both),
                                "linked": len(linked)})  # in --junitxml reports
    assert len(both) >= 4 and len(linked) >= len(both) / 2, (both, linked)
