"""Scenario builder on a tiny self-made world: determinism, box sanity, routes, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from mcvrt.errors import ConfigError, InputError
from mcvrt.evaluation import evaluate_run
from mcvrt.scenario import BackgroundConfig, ScenarioConfig, build_scenario
from reid.config import load_yaml

SIZE_WH = (192, 108)
IDENTITIES = ["car_0001", "car_0002", "truck_0003", "bus_0004", "car_0005", "motorcycle_0006"]

SCENARIO_YAML = """
seed: 3
fps: 10.0
duration_s: 2.0
background: {{video: {root}/bg.mp4, median_frames: 5, erase: [[0, 0, 20, 20]]}}
crops: {{folder: {root}/crops, identities: {root}/list.txt}}
traffic: {{vehicles: 4, single_camera_fraction: 0.5, headway_s: 0.3}}
links:
  - {{from_camera: cam1, to_camera: cam2, travel_s: [0.0, 0.3]}}
cameras:
  - name: cam1
    lanes:
      - {{path: [[0.3, 1.2], [0.4, -0.02]], crossing_s: [0.6, 0.7]}}
      - {{path: [[0.7, 1.2], [0.6, 0.5], [0.55, -0.02]], crossing_s: [0.6, 0.7]}}
  - name: cam2
    condition: {cam2_condition}
    flip: x
    lanes:
      - {{path: [[0.3, 1.2], [0.35, -0.02]], crossing_s: [0.6, 0.7]}}
      - {{path: [[0.7, 1.2], [0.6, -0.02]], crossing_s: [0.6, 0.7]}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame grey background video and two solid-colour photos per identity."""
    root = tmp_path_factory.mktemp("world")
    writer = cv2.VideoWriter(str(root / "bg.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, SIZE_WH)
    for i in range(12):
        frame = np.full((SIZE_WH[1], SIZE_WH[0], 3), 90, np.uint8)
        cv2.circle(frame, (10 + 10 * i, 60), 8, (255, 255, 255), -1)  # a mover the median drops
        writer.write(frame)
    writer.release()
    (root / "crops").mkdir()
    rng = np.random.default_rng(0)
    for key in IDENTITIES:
        for cam in (1, 2):
            photo = np.zeros((40, 50, 3), np.uint8) + rng.integers(0, 256, 3, dtype=np.uint8)
            cv2.imwrite(str(root / "crops" / f"{key}_cam{cam}.jpg"), photo)
    (root / "list.txt").write_text("\n".join(f"{k}_cam1.jpg\n{k}_cam2.jpg" for k in IDENTITIES))
    writer = cv2.VideoWriter(str(root / "bg2.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 96))
    for _ in range(3):  # a second clip: another size, another colour
        writer.write(np.full((96, 160, 3), 200, np.uint8))
    writer.release()
    return root


def _config(world: Path, cam2_condition: str = "day", **replace: str) -> ScenarioConfig:
    text = SCENARIO_YAML.format(root=world, cam2_condition=cam2_condition)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = world / "scenario.yaml"
    path.write_text(text)
    return load_yaml(ScenarioConfig, path)


GT_FILES = ("gt/multicamera.txt", "gt/cam1/gt.txt", "gt/cam2/gt.txt", "scenario.json")


def test_build_is_deterministic_and_boxes_lie_in_frame(world: Path, tmp_path: Path) -> None:
    a = build_scenario(_config(world), tmp_path / "a")
    b = build_scenario(_config(world), tmp_path / "b")
    for name in GT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "cam1.mp4").is_file() and (a / "cam2.mp4").is_file()

    rows = np.loadtxt(a / "gt" / "multicamera.txt").reshape(-1, 9)
    assert len(rows) > 0 and set(rows[:, 0]) == {1, 2}
    x, y, w, h = rows[:, 3], rows[:, 4], rows[:, 5], rows[:, 6]
    assert (x >= 0).all() and (y >= 0).all() and (w > 0).all() and (h > 0).all()
    assert (x + w <= SIZE_WH[0]).all() and (y + h <= SIZE_WH[1]).all()
    assert (rows[:, 2] >= 1).all() and (rows[:, 2] <= 20).all() and (rows[:, 7:] == -1).all()
    mot = np.loadtxt(a / "gt" / "cam1" / "gt.txt", delimiter=",").reshape(-1, 9)
    assert set(mot[:, 7]) <= {2, 5, 7}  # motorcycles are left out by default
    assert ((mot[:, 8] >= 0.3) & (mot[:, 8] <= 1)).all()


def test_routes_use_both_photos_and_single_camera_distractors(world: Path, tmp_path: Path) -> None:
    scenario = json.loads((build_scenario(_config(world), tmp_path) / "scenario.json").read_text())
    assert [c["id"] for c in scenario["cameras"]] == [1, 2]
    routes = [[(a["camera"], a["photo"][-8:]) for a in i["appearances"]]
              for i in scenario["identities"]]
    assert [("cam1", "cam1.jpg"), ("cam2", "cam2.jpg")] in routes
    assert any(len(r) == 1 for r in routes)
    for ident in scenario["identities"]:
        for a in ident["appearances"]:
            assert a["enter_s"] < a["exit_s"] <= 2.0


def test_condition_changes_pixels_not_ground_truth(world: Path, tmp_path: Path) -> None:
    day = build_scenario(_config(world), tmp_path / "day")
    fog = build_scenario(_config(world, "fog"), tmp_path / "fog")
    gt = [(folder / "gt" / "multicamera.txt").read_text() for folder in (day, fog)]
    assert gt[0] == gt[1]
    cam2 = json.loads((fog / "scenario.json").read_text())["cameras"][1]
    assert cam2["condition"] == "fog" and 0.4 <= cam2["fog_beta"] <= 1.6
    assert 0.5 <= cam2["fog_airlight"] <= 1.0


def test_night_sensor_is_noisy_dark_bluish_and_seeded(world: Path, tmp_path: Path) -> None:
    sensor = "condition: night\n    sensor: {exposure: 0.3, blue_cast: 0.1}"
    day = build_scenario(_config(world), tmp_path / "day")
    a = build_scenario(_config(world, "day", **{"condition: day": sensor}), tmp_path / "a")
    b = build_scenario(_config(world, "day", **{"condition: day": sensor}), tmp_path / "b")
    gt = [(f / "gt" / "multicamera.txt").read_text() for f in (day, a)]
    assert gt[0] == gt[1]
    assert (a / "scenario.json").read_bytes() == (b / "scenario.json").read_bytes()
    assert json.loads((a / "scenario.json").read_text())["cameras"][1]["sensor"]["exposure"] == 0.3
    frames = [cv2.VideoCapture(str(f / "cam2.mp4")).read()[1].astype(np.float32)
              for f in (day, a, b)]
    assert np.array_equal(frames[1], frames[2])  # same seed, same noise
    assert frames[1].mean() < 0.8 * frames[0].mean()
    assert frames[1][..., 0].mean() > frames[1][..., 2].mean()  # blue cast on grey
    flat = cv2.cvtColor(frames[1], cv2.COLOR_BGR2GRAY)[60:100, 0:20]  # background only
    assert flat.std() > 2 * cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY)[60:100, 0:20].std()


def test_ground_truth_as_run_scores_one(world: Path, tmp_path: Path) -> None:
    scenario = build_scenario(_config(world), tmp_path / "scenario")
    run = tmp_path / "run"
    (run / "mot").mkdir(parents=True)
    (run / "multicamera.txt").write_text((scenario / "gt" / "multicamera.txt").read_text())
    for cam in ("cam1", "cam2"):
        rows = (scenario / "gt" / cam / "gt.txt").read_text().splitlines()
        (run / "mot" / f"{cam}.txt").write_text("".join(f"{r},-1\n" for r in rows))
    (run / "summary.json").write_text(json.dumps({"cameras": {"cam1": 1, "cam2": 2}}))
    report = evaluate_run(scenario, run)
    assert report.cross_camera.idf1 == 1.0 and report.cameras["cam1"].mota == 1.0
    assert report.conditions == {"cam1": "day", "cam2": "day"}
    assert list(report.by_pair) == ["cam1-cam2"]


def test_each_camera_can_take_its_own_background(world: Path, tmp_path: Path) -> None:
    cfg = _config(world)
    own = BackgroundConfig(world / "bg2.mp4", median_frames=2)
    cfg = replace(cfg, cameras=(cfg.cameras[0], replace(cfg.cameras[1], background=own)))
    out = build_scenario(cfg, tmp_path / "two_clips")
    first = {}
    for cam in ("cam1", "cam2"):
        ok, first[cam] = cv2.VideoCapture(str(out / f"{cam}.mp4")).read()
        assert ok
    assert first["cam1"].shape[:2] == SIZE_WH[::-1] and first["cam2"].shape[:2] == (96, 160)
    assert abs(np.median(first["cam1"]) - 90) < 8 and abs(np.median(first["cam2"]) - 200) < 8
    cameras = json.loads((out / "scenario.json").read_text())["cameras"]
    assert [Path(c["background"]).name for c in cameras] == ["bg.mp4", "bg2.mp4"]
    assert [c["size_wh"] for c in cameras] == [list(SIZE_WH), [160, 96]]
    cam2 = np.loadtxt(out / "gt" / "cam2" / "gt.txt", delimiter=",").reshape(-1, 9)
    assert len(cam2) and (cam2[:, 2] + cam2[:, 4] <= 160).all()
    assert (cam2[:, 3] + cam2[:, 5] <= 96).all()

    # the scenario-wide clip is needed only by cameras without their own
    with pytest.raises(ConfigError, match="background is needed unless every camera"):
        replace(cfg, background=None)
    alone = replace(cfg, background=None,
                    cameras=tuple(replace(c, background=own) for c in cfg.cameras))
    assert (build_scenario(alone, tmp_path / "own_clips") / "cam1.mp4").is_file()


THREE_CAMERAS_YAML = """
seed: 5
fps: 10.0
duration_s: 5.0
background: {{video: {root}/bg.mp4, median_frames: 3}}
crops: {{folder: {root}/crops, identities: {root}/list.txt}}
traffic: {{vehicles: 5, single_camera_fraction: 0.0, headway_s: 0.3}}
links:
{links}
routes: [[cam1, cam2, cam3], [cam3, cam2, cam1]]
cameras:
{cameras}
"""
UP, DOWN = "[[0.3, 1.2], [0.4, -0.02]]", "[[0.7, -0.2], [0.6, 1.2]]"


def _three_cameras(world: Path, down: str = "backward") -> ScenarioConfig:
    links = "".join(f"  - {{from_camera: cam{a}, to_camera: cam{b}, travel_s: [0.1, 0.4]}}\n"
                    for a, b in ((1, 2), (2, 3), (3, 2), (2, 1)))
    cameras = "".join(f"  - name: cam{n}\n    lanes:\n"
                      f"      - {{path: {UP}, crossing_s: [0.6, 0.7], direction: forward}}\n"
                      f"      - {{path: {DOWN}, crossing_s: [0.6, 0.7], direction: {down}}}\n"
                      for n in (1, 2, 3))
    path = world / "three.yaml"
    path.write_text(THREE_CAMERAS_YAML.format(root=world, links=links, cameras=cameras))
    return load_yaml(ScenarioConfig, path)


def test_routes_run_both_ways_through_three_cameras(world: Path, tmp_path: Path) -> None:
    scenario = json.loads((build_scenario(_three_cameras(world), tmp_path) / "scenario.json")
                          .read_text())
    seen = set()
    for ident in scenario["identities"]:
        visits = ident["appearances"]
        cams = [a["camera"] for a in visits]
        assert cams in (["cam1", "cam2", "cam3"], ["cam3", "cam2", "cam1"])
        assert [a["photo"][-8:] for a in visits] == ["cam1.jpg", "cam2.jpg", "cam1.jpg"]
        assert {a["lane"] for a in visits} == {0 if cams[0] == "cam1" else 1}  # its direction
        for before, after in pairwise(visits):
            assert 0.1 <= after["enter_s"] - before["exit_s"] <= 0.4
        seen.add(cams[0])
    assert seen == {"cam1", "cam3"}
    assert scenario["routes"] == [["cam1", "cam2", "cam3"], ["cam3", "cam2", "cam1"]]


def test_bad_routes_fail_clearly(world: Path) -> None:
    with pytest.raises(ConfigError, match="camera cam3 has no lane for backward traffic"):
        _three_cameras(world, down="forward")
    cfg = _three_cameras(world)
    with pytest.raises(ConfigError, match="route cam1 -> cam3: no link cam1 -> cam3"):
        replace(cfg, routes=(("cam1", "cam3"),))
    with pytest.raises(ConfigError, match="must follow the camera order one way"):
        replace(cfg, routes=(("cam1", "cam2", "cam1"),))


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        ("name: cam2", "name: camB", ConfigError, "must end in digits"),
        ("to_camera: cam2", "to_camera: cam9", ConfigError, "unknown camera"),
        ("vehicles: 4", "vehicles: 40", ConfigError, "only 5 identities"),
        ("seed: 3", "seed: -1", ConfigError, "seed must be >= 0"),
        ("headway_s: 0.3", "headway_s: 1.5", ConfigError, "cannot fit 4 vehicles into 2.0 s"),
        ("headway_s: 0.3", "headway_s: 0.3, speed: 3", ConfigError, "unknown key 'traffic.speed'"),
        ("condition: day", "condition: rain", ConfigError, "condition must be one of"),
        ("condition: day", "sensor: {exposure: 0.3}", ConfigError, "night cameras only"),
        ("condition: day", "condition: night\n    sensor: {exposure: 2}", ConfigError,
         "sensor.exposure must be in"),
        ("/crops,", "/nowhere,", InputError, "crop folder not found"),
        ("/bg.mp4", "/none.mp4", InputError, "cannot read background video"),
    ],
)
def test_bad_scenarios_fail_clearly(world: Path, tmp_path: Path, old: str, new: str,
                                    error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build_scenario(_config(world, "day", **{old: new}), tmp_path)


def test_a_camera_renders_the_same_scene_at_its_own_frame_rate(world: Path, tmp_path: Path) -> None:
    cfg = _config(world)
    cfg = replace(cfg, cameras=(cfg.cameras[0], replace(cfg.cameras[1], fps=15.0)))
    out = build_scenario(cfg, tmp_path / "mixed")
    cameras = json.loads((out / "scenario.json").read_text())["cameras"]
    assert [(c["fps"], c["frames"]) for c in cameras] == [(10.0, 20), (15.0, 30)]
    cap = cv2.VideoCapture(str(out / "cam2.mp4"))
    assert (cap.get(cv2.CAP_PROP_FPS), cap.get(cv2.CAP_PROP_FRAME_COUNT)) == (15.0, 30)
    # the traffic is the scene's: cam1 (same frame rate as before) renders the same truth
    same = build_scenario(_config(world), tmp_path / "same")
    assert (out / "gt" / "cam1" / "gt.txt").read_bytes() == (
        same / "gt" / "cam1" / "gt.txt").read_bytes()
    rows = np.loadtxt(out / "gt" / "cam2" / "gt.txt", delimiter=",").reshape(-1, 9)
    assert rows[:, 0].max() > 20  # cam2's frames run to 30
