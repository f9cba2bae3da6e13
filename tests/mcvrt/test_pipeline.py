"""The whole pipeline on synthetic cameras, with a fake detector and the weight-free embedder."""

import csv
import json
from pathlib import Path

import pytest

from mcvrt.config import PipelineConfig
from mcvrt.pipeline import run
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect


def test_planted_vehicles_get_one_global_id_across_three_cameras(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(3), time_offsets_s=[0.0, 10.0, 20.0])
    result = run(PipelineConfig(), cameras, tmp_path / "out", detect=blob_detect,
                 embed=ColorHistogramEmbedder())
    # two vehicles (red, blue) in each of three cameras -> 6 tracklets, 2 identities
    keys = [(c, i) for c in ("cam1", "cam2", "cam3") for i in (1, 2)]
    assert [t.key for t in result.tracklets] == keys
    assert result.identities == 2
    for track_id in (1, 2):
        assert len({result.global_ids[(c, track_id)] for c in ("cam1", "cam2", "cam3")}) == 1
    out = tmp_path / "out"
    for name in ("tracks.csv", "multicamera.txt", "graph.json", "summary.json", "gallery.png",
                 "mot/cam1.txt", "mot/cam2.txt", "mot/cam3.txt"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "tracks.csv").open()))
    n_boxes = sum(len(t.frames) for t in result.tracklets)
    assert len(rows) == n_boxes == len((out / "multicamera.txt").read_text().splitlines())
    assert {r["camera_id"] for r in rows} == {"cam1", "cam2", "cam3"}
    assert float(next(r for r in rows if r["camera_id"] == "cam2")["time_s"]) >= 10.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cameras"] == {"cam1": 1, "cam2": 2, "cam3": 3}
    assert (summary["tracklets"], summary["global_ids"], summary["frames"]) == (6, 2, 120)
    assert list(out.glob("**/*.tmp")) == [] and not list(out.glob("**/.*.tmp"))


def test_same_input_gives_same_ids(synthetic_videos, tmp_path: Path):
    cameras = probe_cameras(synthetic_videos(2))
    first, second = (
        run(PipelineConfig(), cameras, tmp_path / name, detect=blob_detect,
            embed=ColorHistogramEmbedder())
        for name in ("a", "b")
    )
    assert first.global_ids == second.global_ids
    tracks = [(tmp_path / name / "tracks.csv").read_bytes() for name in ("a", "b")]
    assert tracks[0] == tracks[1]


def test_annotated_videos_are_written(synthetic_videos, tmp_path: Path):
    from dataclasses import replace

    cfg = PipelineConfig()
    cfg = replace(cfg, output=replace(cfg.output, save_video=True),
                  input=replace(cfg.input, max_frames=12))
    cameras = probe_cameras(synthetic_videos(1), max_frames=12)
    run(cfg, cameras, tmp_path / "o", detect=blob_detect, embed=ColorHistogramEmbedder())
    (cam,) = probe_cameras([tmp_path / "o" / "videos" / "cam1.mp4"])
    assert (cam.frame_count, cam.size_wh) == (12, (320, 200))


@pytest.mark.slow
def test_real_detector_on_two_real_clips(detector_dir: Path, tmp_path: Path):
    from mcvrt.cli import main
    from tests.conftest import VIDEOS

    code = main(["run", "--videos", str(VIDEOS / "intersection_cctv_640x480.mp4"),
                 str(VIDEOS / "highway_cctv_320x240.avi"), "--detector", str(detector_dir),
                 "--max-frames", "30", "--out", str(tmp_path / "o")])
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["frames"] == 60
    assert summary["tracklets_per_camera"]["intersection_cctv_640x480"] >= 3
    assert summary["tracklets_per_camera"]["highway_cctv_320x240"] >= 3
