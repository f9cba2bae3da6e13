"""The runner interface: every runner gives the same outputs; Ray problems are one line."""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from mcvrt.cli import main
from mcvrt.config import RUNNERS, PipelineConfig, RayConfig
from mcvrt.errors import InputError
from mcvrt.pipeline import run
from mcvrt.runners import RUNNERS as REGISTRY
from mcvrt.runners import run_bounded
from mcvrt.runners.ray_runner import actor_count
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect


def test_every_configurable_runner_is_registered():
    assert set(REGISTRY) == set(RUNNERS)


def test_local_and_process_runners_write_the_same_files(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(3), time_offsets_s=[0.0, 10.0, 20.0])
    cfg = PipelineConfig()
    for runner in ("local", "processes"):
        run(replace(cfg, input=replace(cfg.input, runner=runner, workers=2)), cameras,
            tmp_path / runner, detect=blob_detect, embed=ColorHistogramEmbedder())
    for name in ("tracks.csv", "multicamera.txt", "graph.json", "mot/cam1.txt"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "processes" / name
                                                             ).read_bytes(), name


def test_run_bounded_keeps_slots_busy_and_yields_in_completion_order(synthetic_videos):
    cameras = probe_cameras(synthetic_videos(3))
    gates = {c.id: threading.Event() for c in cameras}
    started, slots_used = [], []

    def submit(camera, slot):
        slots_used.append(slot)
        return pool.submit(lambda: gates[camera.id].wait(5) and camera.id)

    with ThreadPoolExecutor(2) as pool:
        results = run_bounded(cameras, 2, submit, lambda c: started.append(c.id))
        gates["cam2"].set()
        assert next(results) == "cam2" and started == ["cam1", "cam2"]  # 2 slots, both busy
        gates["cam3"].set()
        assert next(results) == "cam3"  # took cam2's slot while cam1 still runs
        assert started == ["cam1", "cam2", "cam3"] and slots_used == [0, 1, 1]
        gates["cam1"].set()
        assert list(results) == ["cam1"]


def test_ray_actor_count_fits_the_cluster():
    cluster = {"CPU": 4.0, "GPU": 1.0, "disk": 2.0}
    assert actor_count(RayConfig(), cluster, cameras=10) == 4
    assert actor_count(RayConfig(), cluster, cameras=3) == 3
    assert actor_count(RayConfig(gpus_per_camera=0.5), cluster, cameras=10) == 2
    assert actor_count(RayConfig(resources={"disk": 1}, workers=1), cluster, cameras=10) == 1
    with pytest.raises(InputError, match="no room for one camera worker"):
        actor_count(RayConfig(resources={"fast_disk": 1}), cluster, cameras=10)


def run_cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    code = main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


def test_ray_runner_without_ray_says_how_to_install_it(synthetic_videos, tmp_path: Path, capsys,
                                                       monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    videos = [str(v) for v in synthetic_videos(1)]
    code, err = run_cli(["run", "--videos", *videos, "--runner", "ray",
                         "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err == ['mcvrt: error: the ray runner needs Ray, which is not '
                                 'installed: pip install "mcvrt[ray]"']
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address, fragment", [
    ("nowhere", "expects auto or HOST:PORT"),
    ("127.0.0.1:1", "cannot reach a Ray cluster at 127.0.0.1:1"),
])
def test_a_bad_ray_address_is_one_line(synthetic_videos, tmp_path: Path, capsys, address: str,
                                       fragment: str):
    pytest.importorskip("ray")
    videos = [str(v) for v in synthetic_videos(1)]
    code, err = run_cli(["run", "--videos", *videos, "--ray-address", address,
                         "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(err) == 1 and fragment in err[0], err
