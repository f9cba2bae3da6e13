"""Each benchmark script runs end to end on tiny inputs and writes its table and JSON.

No timing is asserted: the figures of these runs mean nothing, only that the scripts work.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml

from bench.common import CROPS, DETECTOR, ROOT, VIDEOS

NEEDS = {
    "b1_end_to_end": [DETECTOR, VIDEOS],
    "b2_detector": [DETECTOR, VIDEOS],
    "b3_tracker": [],
    "b4_reid": [CROPS],
    "b5_matching": [],
    "b6_scaling": [DETECTOR, VIDEOS],
}


def run_quick(name: str, out: Path, *extra: str) -> dict:
    module = importlib.import_module(f"bench.{name}")
    payload = module.main([*module.QUICK, *extra, "--out", str(out)])
    written = json.loads((out / f"{name}.json").read_text())
    assert written["command"].startswith(f"python -m bench.{name} ")
    assert written["table"]["rows"] and written["machine"]["packages"]["numpy"]
    assert written["machine"]["threads"]["OMP_NUM_THREADS"]
    return payload


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_benchmark_runs_on_tiny_inputs(name: str, tmp_path: Path):
    missing = [p for p in NEEDS[name] if not p.exists()]
    if missing:
        pytest.skip(f"shared data not available: {missing[0]}")
    if name == "b3_tracker":
        pytest.importorskip("trackers", reason="the bench extra is not installed")
    run_quick(name, tmp_path)


def test_speed_accuracy_runs_on_a_tiny_scenario(tmp_path: Path):
    config = yaml.safe_load((ROOT / "configs" / "scenarios" / "default.yaml").read_text())
    for section, key in (("background", "video"), ("crops", "folder"), ("crops", "identities")):
        config[section][key] = str((ROOT / config[section][key]).resolve())
    if not (DETECTOR.exists() and Path(config["crops"]["folder"]).is_dir()):
        pytest.skip("shared detector or crops not available")
    config.update(fps=2.0, duration_s=14.0, links=config["links"][:1],
                  cameras=config["cameras"][:2])
    config["background"]["median_frames"] = 3
    config["traffic"].update(vehicles=2, headway_s=0.3)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(config))
    payload = run_quick("b7_speed_accuracy", tmp_path, "--scenario", str(scenario),
                        "--cache", str(tmp_path / "cache"))
    assert payload["table"]["rows"][0][0] == "stride 2, embed every 2"


@pytest.mark.slow
def test_runner_benchmark_runs_on_tiny_inputs(tmp_path: Path):
    if not (DETECTOR.exists() and VIDEOS.exists()):
        pytest.skip("shared data not available")
    pytest.importorskip("ray", reason="the ray extra is not installed")
    payload = run_quick("b8_runners", tmp_path)
    assert payload["results"]["identical_tracks_csv"]
    assert payload["results"]["driver_100_cameras"]["resumed"] == 4  # QUICK: 4 cached cameras


def test_run_all_collects_the_tables(tmp_path: Path):
    from bench import run_all

    pytest.importorskip("trackers", reason="the bench extra is not installed")
    payloads = run_all.main(["--quick", "--only", "b3_tracker", "b5_matching", "--out",
                             str(tmp_path)])
    assert set(payloads) == {"b3_tracker", "b5_matching"}
    tables = (tmp_path / "tables.md").read_text()
    assert "python -m bench.b3_tracker" in tables and "python -m bench.b5_matching" in tables


def test_bad_input_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.common import entry
    from mcvrt.errors import InputError

    def main() -> None:
        raise InputError("video not found: /nope.mp4")

    with pytest.raises(SystemExit) as exc:
        entry(main, "bench.b1_end_to_end")
    assert exc.value.code == 2
    assert capsys.readouterr().err == "bench.b1_end_to_end: error: video not found: /nope.mp4\n"


def test_night_reid_ranks_day_against_each_night_sensor(tmp_path: Path):
    """The colour histogram (no model to load) through every sensor of the evaluation set."""
    from bench.night_reid import DATA

    if not DATA.is_dir():
        pytest.skip("shared ReID crops not available")
    payload = importlib.import_module("bench.night_reid").main(
        ["--reid", "color-histogram", "--out", str(tmp_path)])
    scores = payload["results"]["color-histogram"]
    assert set(scores) == {"original", "cctv", "cctv_dim", "cctv_harsh"}
    assert all(0.0 <= m["R1"] <= 1.0 for m in scores.values())
    assert scores["cctv_harsh"]["mAP"] < scores["original"]["mAP"]  # the night camera costs
    assert json.loads((tmp_path / "night_reid.json").read_text())["table"]["rows"]
