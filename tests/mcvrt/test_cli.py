"""Bad input: one line on stderr, exit code 2, no traceback, nothing half-written."""

from pathlib import Path

import pytest

from mcvrt.cli import main
from tests.conftest import SHARED

UIT = str(SHARED / "reid" / "uit_vehicle_reid_train")


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["run", *argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mcvrt: error: ") and fragment in lines[0], lines[0]


def test_missing_video(capsys, tmp_path: Path):
    code, err = run_cli(capsys, "--videos", str(tmp_path / "missing.mp4"),
                        "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, "video not found")


def test_video_that_decodes_nothing(capsys, tmp_path: Path):
    bad = tmp_path / "cam.mp4"
    bad.write_bytes(b"\x00" * 1000)
    code, err = run_cli(capsys, "--videos", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, "cannot read video")


def test_duplicate_camera_ids(capsys, synthetic_videos, tmp_path: Path):
    a, b = synthetic_videos(2)
    code, err = run_cli(capsys, "--videos", str(a), str(b), "--camera-ids", "x", "x",
                        "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, "'x' appears twice")


def test_camera_count_mismatch(capsys, synthetic_videos, tmp_path: Path):
    a, b = synthetic_videos(2)
    code, err = run_cli(capsys, "--videos", str(a), str(b), "--time-offsets", "1.5",
                        "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, "--time-offsets has 1 values for 2 videos")


def test_unknown_config_key_suggests_the_right_one(capsys, synthetic_videos, tmp_path: Path):
    (a,) = synthetic_videos(1)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("matching:\n  min_similarty: 0.5\n")
    code, err = run_cli(capsys, "--videos", str(a), "--config", str(cfg),
                        "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, "unknown key 'matching.min_similarty' (did you mean 'min_similarity'?)")


def test_unwritable_output_folder(capsys, synthetic_videos, tmp_path: Path):
    (a,) = synthetic_videos(1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run_cli(capsys, "--videos", str(a), "--out", str(blocker / "out"))
    assert code == 2
    assert_one_line(err, "cannot write to output folder")


@pytest.mark.parametrize(
    "weights, fragment",
    [("corrupt.pt", "cannot load detector"), ("nowhere/x.onnx", "detector weights not found"),
     ("plain_dir", "must be an *_openvino_model export")],
    ids=["corrupt-file", "missing-file", "wrong-folder"],
)
def test_unusable_detector_weights(
    capsys, synthetic_videos, tmp_path: Path, weights: str, fragment: str
):
    (a,) = synthetic_videos(1)
    (tmp_path / "corrupt.pt").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "plain_dir").mkdir()
    path = weights if weights.startswith("nowhere") else str(tmp_path / weights)
    code, err = run_cli(capsys, "--videos", str(a), "--detector", path,
                        "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line(err, fragment)
    assert not (tmp_path / "o" / "tracks.csv").exists()


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--videos", "--camera-ids", "--time-offsets", "--detector", "--reid",
                   "--max-frames", "--stride", "--save-video", "--set", "MCVRT_DETECTOR"):
        assert option in out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["eval", "--gt", "{tmp}/nothing.txt", "--run", "{tmp}"], "not a run folder"),
        (["make-scenario", "{tmp}/nothing.yaml", "--out", "{tmp}/s"], "config not found"),
        (["train-reid", "--method", "nope"], "training recipe not found"),
        (["train-reid", "--method", "alsa", "--set", "optim.lr"], "--set expects KEY=VALUE"),
        (["eval-reid", "--reid", "{tmp}/missing.pt", "--data", "{tmp}"],
         "cannot tell the dataset layout"),
        (["eval-reid", "--reid", "{tmp}/missing.pt", "--data", UIT], "checkpoint not found"),
    ],
    ids=["eval-missing-gt", "scenario-missing-config", "unknown-method", "bad-override",
         "empty-dataset-folder", "missing-checkpoint"],
)
def test_other_commands_reject_bad_input_in_one_line(capsys, tmp_path: Path, argv, fragment):
    if UIT in argv and not Path(UIT).is_dir():
        pytest.skip("shared ReID crops not available")
    code = main([a.format(tmp=tmp_path) for a in argv])
    assert code == 2
    assert_one_line(capsys.readouterr().err, fragment)


def test_set_overrides_any_config_key_and_the_flags_win(monkeypatch, synthetic_videos,
                                                        tmp_path: Path):
    """`run --set` (repeatable) reaches any key; --detector beats --set beats $MCVRT_DETECTOR."""
    import mcvrt.pipeline
    from mcvrt.pipeline import RunResult

    used = []

    def fake_run(cfg, cameras, out_dir, **_):
        used.append(cfg)
        return RunResult(list(cameras), 0, [], {}, 1.0, {}, [])

    monkeypatch.setattr(mcvrt.pipeline, "run", fake_run)
    monkeypatch.setenv("MCVRT_DETECTOR", "from-env")
    (a,) = synthetic_videos(1)
    common = ["run", "--videos", str(a), "--out", str(tmp_path / "o")]
    assert main([*common, "--set", "matching.min_similarity=0.8", "detector.classes=[2, 7]",
                 "--set", "output.gallery=false", "detector.weights=from-set"]) == 0
    assert main([*common, "--set", "detector.weights=from-set", "--detector", "from-flag"]) == 0
    assert main(common) == 0
    first = used[0]
    assert (first.matching.min_similarity, first.detector.classes, first.output.gallery) == (
        0.8, (2, 7), False)
    assert [cfg.detector.weights for cfg in used] == ["from-set", "from-flag", "from-env"]


@pytest.mark.parametrize(
    "item, fragment",
    [("matching.min_similarty=0.8", "unknown key 'matching.min_similarty' (did you mean "
                                    "'min_similarity'?)"),
     ("matching.min_similarity", "--set expects KEY=VALUE"),
     ("matching=1", "override 'matching' names a section")],
    ids=["unknown-key", "no-value", "a-section"],
)
def test_bad_set_is_one_line_before_anything_is_written(capsys, synthetic_videos,
                                                       tmp_path: Path, item: str, fragment: str):
    (a,) = synthetic_videos(1)
    code, err = run_cli(capsys, "--videos", str(a), "--out", str(tmp_path / "o"), "--set", item)
    assert code == 2
    assert_one_line(err, fragment)
    assert not (tmp_path / "o").exists()
