"""The Python API: `import mcvrt` stays cheap, its exports resolve, its docstring examples run."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import mcvrt
import mcvrt.api
from mcvrt.pipeline import RunResult
from tests.conftest import DETECTOR_DIR, SHARED, blob_detect

ROOT = Path(__file__).resolve().parents[2]
# docstrings with an example that runs the real detector on the demo clips
NEEDS_DETECTOR = {"mcvrt.api.run"}


def _examples() -> list:
    tests = [t for t in doctest.DocTestFinder().find(mcvrt.api) if t.examples]
    return [pytest.param(t, id=t.name, marks=[pytest.mark.slow] * (t.name in NEEDS_DETECTOR))
            for t in tests]


@pytest.mark.parametrize("test", _examples())
def test_docstring_example(test: doctest.DocTest, tmp_path: Path, monkeypatch) -> None:
    """Run in a folder laid out like a checkout beside shared/: demo/ and ../shared/ resolve."""
    if test.name in NEEDS_DETECTOR and not DETECTOR_DIR.is_dir():
        pytest.skip("shared detector weights not available")
    work = tmp_path / "work"
    work.mkdir()
    (work / "demo").symlink_to(ROOT / "demo")
    (tmp_path / "shared").symlink_to(SHARED.parent)
    monkeypatch.chdir(work)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_import_loads_no_model_library() -> None:
    code = ("import sys, mcvrt; mcvrt.configure; "
            "print(sorted({'torch', 'ultralytics', 'openvino'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exports_resolve_and_unknown_names_raise() -> None:
    assert mcvrt.RunResult is RunResult
    assert set(mcvrt.__all__) <= set(dir(mcvrt))
    for name in mcvrt.__all__:
        assert getattr(mcvrt, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Runresult'"):
        _ = mcvrt.Runresult


def test_configure_reads_a_yaml_file_and_rejects_a_key_below_a_value(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("matching:\n  min_similarity: 0.7\n")
    cfg = mcvrt.configure(path, {"output.gallery": False})
    assert (cfg.matching.min_similarity, cfg.output.gallery) == (0.7, False)
    with pytest.raises(mcvrt.ConfigError, match="'max_frames' is not a section"):
        mcvrt.configure(overrides={"input.max_frames.x": 1})


def test_run_with_a_custom_detector(synthetic_videos, tmp_path: Path) -> None:
    synthetic_videos(2)
    result = mcvrt.run([str(tmp_path / "cam*.mp4")], tmp_path / "out", detect=blob_detect,
                       camera_ids=["a", "b"], overrides={"input.workers": 1})
    assert [c.id for c in result.cameras] == ["a", "b"]
    assert result.frames == 80
    assert {key[0] for key in result.global_ids} == {"a", "b"}
    assert (tmp_path / "out" / "tracks.csv").is_file()
