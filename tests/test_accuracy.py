"""The accuracy evaluation set (`bench.accuracy`), its scenes, overrides and tables, and the
learned-window check of `bench.association`; nothing rendered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.accuracy import SCENES, camera, load_scenes, markdown, pipeline_config, rooted, summary
from bench.association import true_transitions, window_fit
from mcvrt.errors import McvrtError
from mcvrt.scenario import ScenarioConfig
from reid.config import from_mapping, load_yaml
from reid.errors import ConfigError


def test_the_set_varies_what_it_should() -> None:
    scenes = load_scenes()
    configs = {n: from_mapping(ScenarioConfig, rooted(s.config)) for n, s in scenes.items()}
    assert len(scenes) >= 8
    clips = {Path(cfg.background_of(c).video).name for cfg in configs.values() for c in cfg.cameras}
    assert len(clips) == 4
    assert {c.condition for cfg in configs.values() for c in cfg.cameras} == {"day", "night", "fog"}
    assert {s.group for s in scenes.values()} == {"day", "night/fog"}
    assert {s.two_wheelers for s in scenes.values()} == {False, True}
    travel = [t for cfg in configs.values() for k in cfg.links for t in k.travel_s]
    assert min(travel) <= 5 and max(travel) >= 50
    for name, cfg in configs.items():
        assert cfg.duration_s >= 40, name
        # 31 = every car and truck of val.txt; with motorcycles there are enough for 40
        assert cfg.traffic.vehicles >= (40 if scenes[name].two_wheelers else 31), name
        assert {cfg.direction(r) for r in cfg.route_list} == {"forward", "backward"}, name
        assert 0 < cfg.traffic.single_camera_fraction < 1, name
        assert Path(cfg.crops.identities).name == "val.txt", name


def test_a_mirrored_camera_mirrors_its_lanes() -> None:
    views = {"road": {"lanes": [{"path": [[0.2, 1.0], [0.3, 0.0]]}]}}
    assert camera("cam1", "road fog x", views) == {
        "name": "cam1", "condition": "fog", "flip": "x",
        "lanes": [{"path": [[0.8, 1.0], [0.7, 0.0]]}]}
    with pytest.raises(ConfigError, match="VIEW CONDITION"):
        camera("cam1", "lake day", views)


def test_a_night_camera_can_name_a_sensor() -> None:
    views = {"road": {"lanes": [{"path": [[0.2, 1.0], [0.3, 0.0]]}]}}
    sensors = {"dim": {"exposure": 0.2}}
    cam = camera("cam2", "road night:dim", views, sensors)
    assert cam["condition"] == "night" and cam["sensor"] == {"exposure": 0.2}
    for spec in ("road night:bright", "road day:dim"):
        with pytest.raises(ConfigError, match="night:SENSOR"):
            camera("cam2", spec, views, sensors)


def test_expanded_scene_is_a_make_scenario_config(tmp_path: Path) -> None:
    scene = load_scenes()["day_street"]
    (tmp_path / "scene.yaml").write_text(scene.text())
    cfg = load_yaml(ScenarioConfig, tmp_path / "scene.yaml")
    assert [c.name for c in cfg.cameras] == ["cam1", "cam2", "cam3"]
    assert ("cam3", "cam2", "cam1") in cfg.route_list


def test_pipeline_overrides_are_checked() -> None:
    cfg = pipeline_config(None, ["matching.min_similarity=0.7", "tracker.max_age=12"],
                          "det_openvino_model", "auto")
    assert (cfg.matching.min_similarity, cfg.tracker.max_age) == (0.7, 12)
    assert (cfg.detector.weights, cfg.appearance.embedder.weights) == ("det_openvino_model", "auto")
    with pytest.raises(ConfigError, match="did you mean 'min_similarity'"):
        pipeline_config(None, ["matching.min_simlarity=0.7"], "d", "color-histogram")
    with pytest.raises(ConfigError, match="unknown key 'nosuch'"):
        pipeline_config(None, ["nosuch.key=1"], "d", "color-histogram")
    with pytest.raises(McvrtError, match="--set expects KEY=VALUE"):
        pipeline_config(None, ["matching.min_similarity"], "d", "color-histogram")


def test_groups_give_mean_and_spread() -> None:
    def scene(group: str, wheels: bool, cross: float, conditions: list[str]) -> dict:
        cams = {f"cam{i}": 0.8 for i in range(1, 4)}
        return {"views": ["v day"] * 3, "group": group, "two_wheelers": wheels, "vehicles": 31,
                "duration_s": 42, "camera_idf1": cams,
                "conditions": dict(zip(cams, conditions, strict=True)), "idf1": 0.8,
                "cross_idf1": cross, "oracle_link_idf1": 0.8, "cross_over_oracle": cross / 0.8}

    scores = {"a": scene("day", False, 0.4, ["day"] * 3),
              "b": scene("day", True, 0.6, ["day"] * 3),
              "c": scene("night/fog", True, 0.2, ["day", "night", "fog"])}
    totals = summary(scores)
    assert totals["groups"]["day (every camera)"]["cross_idf1"] == pytest.approx(
        {"n": 2, "mean": 0.5, "min": 0.4, "max": 0.6})
    assert totals["groups"]["with two-wheelers"]["cross_over_oracle"]["mean"] == pytest.approx(0.5)
    assert totals["camera_idf1_by_condition"]["day"]["n"] == 7
    text = markdown(scores, totals, "test")
    assert "| all scenes | 3 | 0.800 (0.800-0.800) | 0.400 (0.200-0.600) |" in text


def test_a_seed_offset_draws_the_same_scenes_again() -> None:
    """Every seed moves by the offset; everything else about a scene stays."""
    base, moved = load_scenes(), load_scenes(seed_offset=1000)
    assert base.keys() == moved.keys()
    for name, scene in base.items():
        assert moved[name].config["seed"] == scene.config["seed"] + 1000
        assert {**moved[name].config, "seed": 0} == {**scene.config, "seed": 0}


def test_the_cross_check_set_builds_on_the_evaluation_set() -> None:
    """crosscheck.yaml takes the evaluation set's views and sensors, adds its own sensors, and
    holds camera combinations the evaluation set does not."""
    cross = load_scenes(SCENES.parent / "crosscheck.yaml")
    tuned = load_scenes()
    assert len(cross) >= 8 and not cross.keys() & tuned.keys()
    assert not {s.views for s in cross.values()} & {s.views for s in tuned.values()}
    assert {s.group for s in cross.values()} == {"day", "night/fog"}
    sensors = {c["sensor"]["read_noise"] for s in cross.values() for c in s.config["cameras"]
               if "sensor" in c}
    assert {10.0, 3.0, 5.0} <= sensors  # its grainy and soft sensors, evalset's cctv_dim


def test_a_set_file_names_a_missing_base_in_one_error(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("base: nosuch.yaml\nscenes: {}\n")
    with pytest.raises(ConfigError, match="cannot read scene set"):
        load_scenes(path)


def test_true_transitions_and_the_window_fit(tmp_path: Path) -> None:
    """The learned-window check of `bench.association`: true travel times from each vehicle's
    sightings, and how a topology's window holds them (share inside, ends off in seconds)."""
    sightings = [  # (camera, first frame, last frame) of each vehicle, fps 10
        [("cam1", 0, 20), ("cam2", 50, 70)],  # cam1 -> cam2 in 3.0 s
        [("cam1", 10, 30), ("cam2", 80, 90), ("cam3", 100, 110)],  # 5.0 s, then 1.0 s
        [("cam2", 5, 15), ("cam1", None, None)],  # never in view of cam1: no transition
    ]
    scenario = {"fps": 10.0, "identities": [
        {"appearances": [{"camera": c, "first_frame": f, "last_frame": last}
                         for c, f, last in seen]} for seen in sightings]}
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    truth = true_transitions(tmp_path)
    assert truth == {("cam1", "cam2"): [3.0, 5.0], ("cam1", "cam3"): [7.0],
                     ("cam2", "cam3"): [1.0]}
    learned = tmp_path / "topology.yaml"
    learned.write_text("pairs:\n- {cameras: [cam1, cam2], one_way: true, min_s: 2.5, max_s: 4.0}\n")
    fit = window_fit(learned, truth, min_transitions=2)
    assert fit == {"cam1->cam2": {"transitions": 2, "learned": True, "inside": 0.5,
                                  "min_off_s": pytest.approx(-0.5),
                                  "max_off_s": pytest.approx(-1.0)}}
    assert window_fit(tmp_path / "none.yaml", truth, 1)["cam2->cam3"] == {
        "transitions": 1, "learned": False}
