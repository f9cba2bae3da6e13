"""mcvrt installed like a library: a wheel of the checkout in a fresh virtual environment, run
from a folder outside the checkout (configs, templates and ReID weights come from the wheel)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sh(*args: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_wheel_runs_outside_the_checkout(tmp_path: Path, detector_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no checkout on the path
    source, dist = tmp_path / "source", tmp_path / "dist"  # built from a copy: the build
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(  # leaves build/
        ".*", "runs", "build", "*.egg-info", "__pycache__"))  # and *.egg-info in its source
    _sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", dist, source, cwd=tmp_path, env=env)
    (wheel,) = dist.glob("mcvrt-*.whl")
    prefix = tmp_path / "venv"
    venv.create(prefix, with_pip=True)
    bin_dir = prefix / "bin"
    _sh(bin_dir / "python", "-m", "pip", "install", "--no-deps", "-q", wheel, cwd=tmp_path,
        env=env)
    # the dependencies (not mcvrt) from this interpreter's environment: a .pth file adds its
    # site-packages after the venv's own, where site does not read the editable install's .pth
    site = Path(_sh(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()"
                    "['purelib'])", cwd=tmp_path, env=env).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = _sh(bin_dir / "python", "-c", "import sys, mcvrt, mcvrt.config, mcvrt.scenario; "
                "print(mcvrt.__file__); print(mcvrt.config.DEFAULT_CONFIG.is_file(), "
                "mcvrt.scenario.DEFAULT_SCENARIO.is_file()); print(sys.path)",
                cwd=work, env=env).splitlines()
    assert Path(where[0]).is_relative_to(prefix)
    assert where[1] == "True True"
    # the checkout itself is not on the path (its .venv may be: the dependencies live there)
    assert not [p for p in ast.literal_eval(where[2]) if p and Path(p).resolve() == ROOT]
    assert "run" in _sh(bin_dir / "mcvrt", "--help", cwd=work, env=env)

    out = work / "runs" / "short"
    _sh(bin_dir / "mcvrt", "run", "--videos", ROOT / "demo" / "cam1.mp4", "--out", out,
        "--max-frames", "30", "--detector", detector_dir, cwd=work, env=env)
    for name in ("tracks.csv", "summary.json", "graph.json", "gallery.png", "report.html"):
        assert (out / name).is_file(), name
    assert "<article class=\"card\"" in (out / "report.html").read_text()
