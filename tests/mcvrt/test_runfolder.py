"""A run folder holds one run; an interrupted run leaves the previous one whole and resumes
from the cameras it finished (`mcvrt.runfolder`)."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

import mcvrt.pipeline
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.pipeline import run
from mcvrt.runfolder import CameraKeys
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect

OUTPUTS = ("tracks.csv", "multicamera.txt", "graph.json", "mot/cam1.txt", "mot/cam2.txt",
           "mot/cam3.txt", "gallery.png")


def config(runner: str = "local", **output) -> PipelineConfig:
    cfg = PipelineConfig()
    return replace(cfg, input=replace(cfg.input, runner=runner, workers=2),
                   output=replace(cfg.output, **output))


def run_cams(cfg: PipelineConfig, videos: list[Path], out: Path, resume: bool = False):
    return run(cfg, probe_cameras(videos), out, detect=blob_detect,
               embed=ColorHistogramEmbedder(), resume=resume)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def interrupt_after_first_camera(monkeypatch) -> None:
    """Ctrl-C as soon as the driver has stored the first finished camera."""
    def finished(self, result):
        raise KeyboardInterrupt

    monkeypatch.setattr(mcvrt.pipeline.CameraProgress, "finished", finished)


def test_a_rerun_replaces_the_folder_whole(synthetic_videos, tmp_path: Path):
    videos = synthetic_videos(3)
    first = run_cams(config(save_video=True), videos, tmp_path / "out")
    assert (tmp_path / "out" / "videos" / "cam1.mp4").is_file()
    second = run_cams(config(gallery=False), videos, tmp_path / "out")
    names = set(snapshot(tmp_path / "out"))
    assert not any(n.startswith("videos/") for n in names) and "gallery.png" not in names
    assert {p.relative_to(tmp_path / "out").as_posix() for p in map(Path, second.outputs)} <= names
    assert tmp_path / "out" / "tracks.csv" in first.outputs
    assert all(p.is_relative_to(tmp_path / "out") for p in first.outputs + second.outputs)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["out"]  # no leftovers


@pytest.mark.parametrize("runner", ["local", "processes"])
def test_an_interrupted_run_leaves_the_old_one_whole_and_resumes(
        synthetic_videos, tmp_path: Path, monkeypatch, runner: str):
    videos, out = synthetic_videos(3), tmp_path / "out"
    run_cams(config(save_video=True), videos, out)  # the previous run: other settings
    old = snapshot(out)
    with monkeypatch.context() as patch:
        interrupt_after_first_camera(patch)
        with pytest.raises(KeyboardInterrupt):
            run_cams(config(runner), videos, out)
    assert snapshot(out) == old
    partial = tmp_path / "out.partial"
    (cached,) = (partial / "cache").iterdir()  # the one finished camera
    def identity(folder: Path) -> dict[Path, tuple[int, int]]:
        return {p.relative_to(folder): (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in folder.rglob("*")}

    files = identity(cached)

    resumed = run_cams(config(runner), videos, out, resume=True)
    fresh = run_cams(config(runner), videos, tmp_path / "fresh")
    assert {n: b for n, b in snapshot(out).items() if n in OUTPUTS} == {
        n: b for n, b in snapshot(tmp_path / "fresh").items() if n in OUTPUTS}
    assert not partial.exists() and "videos/cam1.mp4" not in snapshot(out)
    assert files and identity(out / "cache" / cached.name) == files  # untouched, moved in
    summary = json.loads((out / "summary.json").read_text())["per_camera"]
    assert [c for c, s in summary.items() if s["resumed"]] == [cached.name]
    assert resumed.frames == fresh.frames - 40  # the cached camera's 40 frames not redone


def test_resume_reuses_a_finished_run_only_where_nothing_changed(synthetic_videos, tmp_path: Path):
    videos, out = synthetic_videos(2), tmp_path / "out"
    run_cams(config(), videos, out)
    same = run_cams(config(), videos, out, resume=True)
    assert same.frames == 0 and all(s["resumed"] for s in same.per_camera.values())
    cfg = config()
    changed = replace(cfg, tracker=replace(cfg.tracker, n_init=2))
    redone = run_cams(changed, videos, out, resume=True)
    assert redone.frames == 80 and not any(s["resumed"] for s in redone.per_camera.values())


def test_camera_keys_follow_video_and_tracking_settings_not_matching(synthetic_videos):
    cam1, cam2 = probe_cameras(synthetic_videos(2))
    cfg = PipelineConfig()
    keys = CameraKeys.of(cfg, blob_detect)
    assert keys.key(cam1) != keys.key(cam2)
    assert keys.key(cam1) == CameraKeys.of(
        replace(cfg, matching=replace(cfg.matching, min_similarity=0.5)), blob_detect).key(cam1)
    assert keys.key(cam1) != CameraKeys.of(
        replace(cfg, input=replace(cfg.input, stride=2)), blob_detect).key(cam1)
    assert keys.key(cam1) != CameraKeys.of(cfg, None).key(cam1)  # the configured detector
    before = keys.key(cam1)
    stat = cam1.path.stat()
    import os

    os.utime(cam1.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert keys.key(cam1) != before


def test_an_output_folder_that_holds_no_run_is_not_replaced(synthetic_videos, tmp_path: Path):
    videos = synthetic_videos(1)
    with pytest.raises(InputError, match="holds no mcvrt run"):
        run_cams(config(), videos, tmp_path)  # the videos' own folder
    assert videos[0].is_file()
