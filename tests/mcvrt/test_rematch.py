"""Stored tracklets and `mcvrt rematch`: association again without decoding, detecting, tracking."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from mcvrt.association.topology import load_topology
from mcvrt.cli import main
from mcvrt.config import PipelineConfig
from mcvrt.pipeline import run
from mcvrt.tracklets import StoredRun, load_run, save_run
from mcvrt.types import Camera, Tracklet
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect
from tests.mcvrt.test_cli import assert_one_line

OUTPUTS = ("tracks.csv", "multicamera.txt", "graph.json", "mot/cam1.txt", "mot/cam2.txt",
           "mot/cam3.txt")
TIMES = ("seconds", "fps", "stage_seconds", "per_camera")  # per_camera: how `run` ran them


@pytest.fixture
def finished_run(synthetic_videos, tmp_path: Path) -> Path:
    """A run of three synthetic cameras (two vehicles each, 10 s apart)."""
    cameras = probe_cameras(synthetic_videos(3), time_offsets_s=[0.0, 10.0, 20.0])
    run(PipelineConfig(), cameras, tmp_path / "run", detect=blob_detect,
        embed=ColorHistogramEmbedder())
    return tmp_path / "run"


def test_stored_tracklets_round_trip_every_field(tracklet_factory: Callable[..., Tracklet],
                                                 tmp_path: Path) -> None:
    tracklets = [
        tracklet_factory("north", 3, [4, 6, 9], (0.6, 0.8), fps=25.0, time_offset_s=1.5,
                         class_id=7, confidence=[0.5, 0.25, 0.125]),
        replace(tracklet_factory("south", 1, [0]), embedding=np.zeros(0, np.float32),
                extra={"condition": "fog", "expert": "sjdl"}),
    ]
    cameras = [Camera("north", Path("n.mp4"), 25.0, 10, (640, 480), 1.5),
               Camera("south", Path("s.mp4"), 10.0, 1, (320, 200))]
    stored = StoredRun(tracklets, cameras, PipelineConfig(), 11, 2.5, {"detect": 1.25})
    written = save_run(tmp_path, stored)
    assert [p.name for p in written] == ["tracklets.npz", "tracklets.json"]
    loaded = load_run(tmp_path)
    assert (loaded.cameras, loaded.config, loaded.frames, loaded.seconds,
            loaded.stage_seconds) == (cameras, PipelineConfig(), 11, 2.5, {"detect": 1.25})
    for before, after in zip(tracklets, loaded.tracklets, strict=True):
        for f in fields(Tracklet):
            a, b = getattr(before, f.name), getattr(after, f.name)
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b), f.name
            else:
                assert a == b and type(a) is type(b), f.name


def test_rematch_without_changes_reproduces_the_run(finished_run: Path, tmp_path: Path) -> None:
    assert main(["rematch", str(finished_run), "--out", str(tmp_path / "again")]) == 0
    for name in OUTPUTS:
        assert (finished_run / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    before, after = (json.loads((d / "summary.json").read_text())
                     for d in (finished_run, tmp_path / "again"))
    assert {k: v for k, v in before.items() if k not in TIMES} == {
        k: v for k, v in after.items() if k not in TIMES}
    assert before["stage_seconds"].keys() == after["stage_seconds"].keys()
    assert not (tmp_path / "again" / "gallery.png").exists()  # needs the frames
    rematched = load_run(tmp_path / "again")  # the rematch output can be rematched in turn
    assert rematched.config.output.gallery is False
    assert len(rematched.tracklets) == 6
    for folder in (finished_run, tmp_path / "again"):  # too few vehicles for a link
        assert load_topology(folder / "topology.learned.yaml") == {}


def test_learned_topology_is_written_for_reuse_and_removed_when_not_learned(
        finished_run: Path, tmp_path: Path) -> None:
    learned = finished_run / "topology.learned.yaml"
    assert learned.read_text().startswith("# Camera links learned from this run")
    out = tmp_path / "given"
    assert main(["rematch", str(finished_run), "--out", str(out), "--topology", str(learned)]) == 0
    graph = json.loads((out / "graph.json").read_text())
    assert graph["topology_source"] == "given" and graph["edges"] == []  # no pair may link
    assert not (out / "topology.learned.yaml").exists()
    assert main(["rematch", str(finished_run), "--out", str(finished_run),
                 "--set", "matching.link_rounds=0"]) == 0
    assert not learned.exists()


def test_rematch_honours_links_and_settings(finished_run: Path, tmp_path: Path) -> None:
    def clusters(folder: Path) -> list[list[list]]:
        graph = json.loads((folder / "graph.json").read_text())
        return [c["members"] for c in graph["clusters"]]

    assert clusters(finished_run) == [[["cam1", 1], ["cam2", 1], ["cam3", 1]],
                                      [["cam1", 2], ["cam2", 2], ["cam3", 2]]]
    out = tmp_path / "linked"
    argv = ["rematch", str(finished_run), "--out", str(out), "--cannot-link", "cam1:1=cam2:1",
            "--must-link", "cam3:2=cam3:1", "--set", "matching.max_transition_s=15",
            "matching.view_lead_s=0"]
    assert main(argv) == 0
    # cam1/1 may not join cam2/1; the red and blue vehicles of cam3, forced together, average
    # too low to join anyone (and cam1 is 16 s before cam3, beyond 15 s)
    assert clusters(out) == [[["cam1", 1]], [["cam1", 2], ["cam2", 2]], [["cam2", 1]],
                             [["cam3", 1], ["cam3", 2]]]
    assert load_run(out).config.matching.max_transition_s == 15.0
    assert load_run(out).config.matching.view_lead_s == 0.0


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--set", "detector.confidence=0.5"], "--set expects matching.KEY=VALUE"),
        (["--set", "matching.min_similarty=0.5"], "did you mean 'min_similarity'"),
        (["--set", "matching.min_similarity=2"], "matching.min_similarity must be in [-1, 1]"),
        (["--must-link", "cam1-1=cam2:1"], "--must-link expects CAM:TRACK=CAM:TRACK"),
        (["--cannot-link", "cam1:1=cam9:1"], "cannot-link: no tracklet cam9:1"),
        (["--topology", "{tmp}/missing.yaml"], "cannot read topology file"),
        (["--set", "matching.scorer=learned"], "matching.scorer: unknown scorer 'learned'"),
    ],
    ids=["not-matching", "unknown-key", "out-of-range", "bad-link", "unknown-tracklet",
         "missing-topology", "unknown-scorer"],
)
def test_bad_rematch_input_is_one_line(finished_run: Path, tmp_path: Path, capsys,
                                       extra: list[str], fragment: str) -> None:
    argv = ["rematch", str(finished_run), "--out", str(tmp_path / "o"),
            *(a.format(tmp=tmp_path) for a in extra)]
    assert main(argv) == 2
    assert_one_line(capsys.readouterr().err, fragment)
    assert not (tmp_path / "o" / "tracks.csv").exists()


def test_rematch_of_a_folder_without_stored_tracklets(tmp_path: Path, capsys) -> None:
    assert main(["rematch", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert_one_line(capsys.readouterr().err, "no tracklets.json")


def test_rematch_benchmark_runs_on_a_finished_run(finished_run: Path, tmp_path: Path) -> None:
    from bench import rematch as bench

    payload = bench.main([*bench.QUICK, "--run", str(finished_run), "--out", str(tmp_path)])
    assert payload["results"]["same_outputs"] is True
    assert json.loads((tmp_path / "rematch.json").read_text())["table"]["rows"][0][0] == "rematch"
