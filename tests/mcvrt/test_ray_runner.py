"""The Ray runner on real video: the local runner's bytes, a two-node cluster on this machine,
and a run killed mid-way that resumes. Slow: each Ray worker loads the detector."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcvrt.cli import main
from mcvrt.config import PipelineConfig
from mcvrt.pipeline import run
from mcvrt.video import probe_cameras

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEMO = [ROOT / "demo" / f"cam{i}.mp4" for i in (1, 2, 3)]
OUTPUTS = ("tracks.csv", "multicamera.txt", "graph.json", "mot/cam1.txt", "mot/cam2.txt",
           "mot/cam3.txt")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}


def same_arrays(a: Path, b: Path) -> bool:
    """Two tracklets.npz hold the same tracklets (compared as arrays: their zip entries carry
    the time they were written). Embeddings to float rounding: the ReID network's sums run on
    as many threads as the worker has CPUs, and their order moves the last bits."""
    with np.load(a) as x, np.load(b) as y:
        return x.files == y.files and all(
            np.allclose(x[k], y[k], rtol=0, atol=1e-5) if k == "embedding"
            else np.array_equal(x[k], y[k]) for k in x.files)


def demo_config(detector_dir: Path, runner: str, frames: int) -> PipelineConfig:
    cfg = PipelineConfig()
    return replace(cfg, input=replace(cfg.input, runner=runner, max_frames=frames),
                   detector=replace(cfg.detector, weights=str(detector_dir)))


def test_local_ray_writes_the_local_runners_tracks(detector_dir: Path, tmp_path: Path):
    ray = pytest.importorskip("ray")
    cameras = probe_cameras(DEMO, max_frames=20)
    run(demo_config(detector_dir, "local", 20), cameras, tmp_path / "local")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        result = run(demo_config(detector_dir, "ray", 20), cameras, tmp_path / "ray")
    finally:
        ray.shutdown()
    for name in OUTPUTS:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name
                                                            ).read_bytes(), name
    assert same_arrays(tmp_path / "local" / "tracklets.npz", tmp_path / "ray" / "tracklets.npz")
    assert len({s["node"] for s in result.per_camera.values()}) == 1


def start_node(*args: str) -> subprocess.Popen:
    """`ray start ... --block` in its own process group (stopped by `stop_node`)."""
    return subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--block",
                             "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                             "--resources", '{"camera_slot": 1}', "--disable-usage-stats", *args],
                            env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_node(node: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the node's process group, SIGKILL what is left after `grace_s`."""
    os.killpg(node.pid, signal.SIGTERM)
    try:
        node.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    node.wait()


@pytest.fixture
def two_node_cluster() -> Iterator[str]:
    """A head node and a second node on this machine, one `camera_slot` each; the address."""
    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    temp = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must fit 107 bytes
    head = start_node("--head", "--port", str(port), "--include-dashboard", "false",
                      "--temp-dir", temp)
    nodes = [head]
    try:
        deadline = time.monotonic() + 60
        while head.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        nodes.append(start_node("--address", address))
        check = ("import ray, sys, time; ray.init(address=sys.argv[1]); "
                 "[time.sleep(0.5) for _ in range(120) if len(ray.nodes()) < 2]; "
                 "sys.exit(len([n for n in ray.nodes() if n['Alive']]) != 2)")
        subprocess.run([sys.executable, "-c", check, address], env=ENV, check=True, timeout=90)
        yield address
    finally:
        for node in reversed(nodes):
            stop_node(node)
        shutil.rmtree(temp, ignore_errors=True)


def test_two_node_cluster_runs_cameras_on_both_nodes(two_node_cluster: str, detector_dir: Path,
                                                     tmp_path: Path):
    config = tmp_path / "ray.yaml"
    config.write_text("ray:\n  resources: {camera_slot: 1}   # one camera worker per node\n")
    subprocess.run([sys.executable, "-m", "mcvrt", "run", "--videos", *map(str, DEMO[:2]),
                    "--detector", str(detector_dir), "--max-frames", "15", "--config",
                    str(config), "--ray-address", two_node_cluster, "--out", str(tmp_path / "o")],
                   env=ENV, check=True, timeout=300)
    per_camera = json.loads((tmp_path / "o" / "summary.json").read_text())["per_camera"]
    nodes = {camera: entry["node"] for camera, entry in per_camera.items()}
    assert sorted(nodes) == ["cam1", "cam2"] and len(set(nodes.values())) == 2, nodes


def test_a_killed_run_resumes_to_the_uninterrupted_outputs(detector_dir: Path, tmp_path: Path):
    args = ["run", "--videos", *map(str, DEMO), "--detector", str(detector_dir),
            "--max-frames", "60", "--runner", "local"]
    out, cache = tmp_path / "o", tmp_path / "o.partial" / "cache"
    driver = subprocess.Popen([sys.executable, "-m", "mcvrt", *args, "--out", str(out)], env=ENV,
                              start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    def finished_cameras() -> list[Path]:  # a camera's folder appears by rename, when complete
        return [p for p in cache.iterdir() if not p.name.startswith(".")] if cache.is_dir() else []

    while not finished_cameras() and time.monotonic() < deadline:
        assert driver.poll() is None, "the run ended before it could be killed"
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and anything it started
    driver.wait()
    assert not out.exists()
    (finished,) = finished_cameras()
    files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in finished.iterdir()}
    seconds = json.loads((finished / "tracklets.json").read_text())["seconds"]

    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert main([*args, "--out", str(tmp_path / "fresh")]) == 0
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert same_arrays(out / "tracklets.npz", tmp_path / "fresh" / "tracklets.npz")
    kept = out / "cache" / finished.name
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in kept.iterdir()} == files
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["per_camera"][finished.name]
    assert entry["resumed"] and entry["seconds"] == round(seconds, 3)  # the first run's time
    assert summary["frames"] == 120  # two cameras of 60 frames tracked again, not three
