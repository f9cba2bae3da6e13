"""Cameras in worker processes give the one-process results; decoding runs ahead in a thread."""

from dataclasses import replace
from pathlib import Path

import pytest

from mcvrt.camera import prefetch
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.pipeline import run
from mcvrt.runners.processes import core_sets, usable_cores, worker_count
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from reid.embedder import COLOR_HISTOGRAM
from tests.conftest import blob_detect


def with_workers(n: int) -> PipelineConfig:
    cfg = PipelineConfig()
    return replace(cfg, input=replace(cfg.input, workers=n))


def refusing_detect(image):  # module level, so a worker process can unpickle it
    raise InputError("camera feed refused")


def test_worker_processes_give_the_sequential_results(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(3), time_offsets_s=[0.0, 10.0, 20.0])
    one, two = (run(with_workers(n), cameras, tmp_path / str(n), detect=blob_detect,
                    embed=ColorHistogramEmbedder()) for n in (1, 2))  # 2 workers, 3 cameras
    assert [t.key for t in one.tracklets] == [t.key for t in two.tracklets]
    assert one.global_ids == two.global_ids and one.frames == two.frames == 120
    for name in ("tracks.csv", "multicamera.txt", "graph.json", "mot/cam2.txt"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
    assert {"load", "decode", "detect", "embed", "track", "match"} <= set(two.stage_seconds)


def test_unpicklable_callables_are_refused_for_workers(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(2))
    with pytest.raises(TypeError, match="picklable"):
        run(with_workers(2), cameras, tmp_path / "o", detect=lambda image: blob_detect(image),
            embed=ColorHistogramEmbedder())
    result = run(with_workers(1), cameras, tmp_path / "o", detect=lambda image: blob_detect(image),
                 embed=ColorHistogramEmbedder())
    assert result.identities == 2


def test_an_error_in_a_worker_reaches_the_caller(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(2))
    with pytest.raises(InputError, match="camera feed refused"):
        run(with_workers(2), cameras, tmp_path / "o", detect=refusing_detect,
            embed=ColorHistogramEmbedder())
    assert not (tmp_path / "o" / "tracks.csv").exists()


def test_worker_count_and_core_split():
    cores = len(usable_cores())
    assert worker_count(with_workers(3), 2) == 2
    learned = with_workers(0)  # the default embedder, ALSA: two cores a camera
    assert learned.appearance.learned and worker_count(learned, 64) == max(1, cores // 2)
    histogram = replace(learned, appearance=replace(learned.appearance, embedder=replace(
        learned.appearance.embedder, weights=COLOR_HISTOGRAM)))
    assert not histogram.appearance.learned
    assert worker_count(histogram, 64) == cores
    cuda = replace(PipelineConfig(), detector=replace(PipelineConfig().detector, device="cuda:0"))
    assert worker_count(cuda, 4) == 1
    groups = core_sets(cores)
    assert sorted(c for g in groups for c in g) == usable_cores() and all(groups)
    assert len(core_sets(cores + 1)) == cores + 1


def test_prefetch_keeps_order_forwards_errors_and_closes_early():
    closed = []

    def numbers(fail_at: int | None = None):
        try:
            for i in range(5):
                if i == fail_at:
                    raise ValueError("decode failed")
                yield i
        finally:
            closed.append(True)

    assert list(prefetch(numbers())) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="decode failed"):
        list(prefetch(numbers(fail_at=2)))
    early = prefetch(numbers())
    assert next(early) == 0
    early.close()
    assert closed == [True, True, True]
