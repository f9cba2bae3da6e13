"""`mcvrt run`: compose the stages, one way.

videos -> Camera[] -> per camera (`mcvrt.camera`, executed by the configured runner,
`mcvrt.runners`): Frame -> Detections -> (+embedding) -> Tracker -> Tracklet[]
-> cross-camera graph -> global ids -> CSV / JSON (+ optional video, gallery and report).

This process is the driver: it stores each camera's tracklets as the runner hands them back
(`mcvrt.runfolder`: the run folder and its per-camera cache), then matches in camera order, so
every runner gives the same tracklets and ids, and swaps the finished run folder in.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from mcvrt.appearance import Embed, load_compare
from mcvrt.association import NO_LINKS, Links, check_matching, graph_to_dict, match_tracklets
from mcvrt.camera import CameraResult, Detect, StageTimes
from mcvrt.config import PipelineConfig, config_from_mapping, config_to_mapping
from mcvrt.crops import (
    CROPS,
    best_per_identity,
    copy_crops,
    load_crops,
    save_crops,
    tracklet_crops,
)
from mcvrt.export import (
    number_cameras,
    write_aicity,
    write_json,
    write_mot,
    write_tracks_csv,
    write_yaml,
)
from mcvrt.runfolder import CACHE, CameraCache, CameraKeys, RunFolder, check_writable
from mcvrt.runners import Runner, make_runner
from mcvrt.tracklets import StoredRun, load_run, save_run
from mcvrt.types import Camera, Tracklet


@dataclass(frozen=True)
class RunResult:
    """What a run produced: counts, timings and the files written."""

    cameras: list[Camera]
    frames: int  # camera-frames processed by this run (not those of resumed cameras)
    tracklets: list[Tracklet]
    global_ids: dict[tuple[str, int], int]
    seconds: float  # wall time of model loading + decode + detect + embed + track + match
    stage_seconds: dict[str, float]
    outputs: list[Path]
    # camera id -> node, frames, seconds and whether it was resumed from the cache (`mcvrt run`)
    per_camera: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Camera-frames per second through the whole pipeline (before writing outputs)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def identities(self) -> int:
        return len(set(self.global_ids.values()))


STATES = ("waiting", "running", "done", "resumed")


class CameraProgress:
    """The driver's bar over cameras; its text counts the cameras in each state and names the
    running ones."""

    def __init__(self, cameras: Sequence[Camera], resumed: Sequence[str]) -> None:
        self.state = {c.id: "resumed" if c.id in resumed else "waiting" for c in cameras}
        self.bar = tqdm(total=len(cameras), initial=len(resumed), desc="cameras", unit="cam",
                        position=0, disable=len(cameras) < 2)
        self._show()

    def started(self, camera: Camera) -> None:
        self.state[camera.id] = "running"
        self._show()

    def finished(self, result: CameraResult) -> None:
        self.state[result.camera_id] = "done"
        self._show()
        self.bar.update()

    def _show(self) -> None:
        counts = Counter(self.state.values())
        running = [c for c, state in self.state.items() if state == "running"]
        names = ", ".join(running[:3]) + (", ..." if len(running) > 3 else "")
        self.bar.set_postfix_str(", ".join(f"{s} {counts[s]}" for s in STATES if counts[s])
                                 + (f" ({names})" if running else ""), refresh=False)

    def close(self) -> None:
        self.bar.close()


def track_cameras(cameras: Sequence[Camera], runner: Runner, cache: CameraCache,
                  resume: bool) -> tuple[dict[str, CameraResult], list[str]]:
    """Every camera's result (camera id -> result) and the ids resumed from `cache`; the others
    are tracked by `runner`, each stored in `cache` as soon as it is handed back."""
    results = {c.id: r for c in cameras if resume and (r := cache.load(c)) is not None}
    resumed = list(results)
    pending = {c.id: c for c in cameras if c.id not in results}
    progress = CameraProgress(cameras, resumed)
    try:
        if pending:
            with contextlib.closing(runner.track(list(pending.values()), progress.started)) as it:
                for result in it:
                    cache.save(pending[result.camera_id], result)
                    results[result.camera_id] = result
                    progress.finished(result)
    finally:
        progress.close()
    return results, resumed


def damage_note(camera: Camera) -> str:
    """One line on what damage cost a camera: frames lost, their ranges, decoded vs claimed."""
    ranges = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in camera.skipped)
    return (f"camera {camera.id}: {camera.lost_frames} frames lost to damage (frames {ranges} "
            f"skipped); {camera.frame_count} decoded, the container claims "
            f"{camera.claimed_frames}")


def run(
    cfg: PipelineConfig,
    cameras: Sequence[Camera],
    out_dir: Path,
    *,
    detect: Detect | None = None,
    embed: Embed | None = None,
    resume: bool = False,
) -> RunResult:
    """Track every camera with the configured runner, store the tracklets, match across
    cameras and write the outputs; `out_dir` is replaced whole when the run has finished.

    `resume`: cameras whose cached tracklets (from an interrupted or the previous run into
    `out_dir`) fit their video and configuration are not tracked again.
    """
    check_matching(cfg.matching)  # a bad topology file fails before detection starts
    runner = make_runner(cfg, detect, embed)  # e.g. Ray missing or its cluster unreachable
    folder = RunFolder(out_dir)
    folder.prepare(resume)
    keys = CameraKeys.of(cfg, detect, embed)
    cache = CameraCache(folder.work / CACHE, cfg, {c.id: keys.key(c) for c in cameras})
    cache.prune(cameras)
    start = time.perf_counter()
    results, resumed = track_cameras(cameras, runner, cache, resume)
    times = StageTimes()
    for r in results.values():
        if r.camera_id not in resumed:
            for stage, value in r.stage_seconds.items():
                times.seconds[stage] += value
    per_camera = {c.id: {"node": results[c.id].node, "frames": results[c.id].frames,
                         "seconds": round(results[c.id].seconds, 3), "resumed": c.id in resumed}
                  for c in cameras}
    for camera in (results[c.id].camera for c in cameras if results[c.id].camera.skipped):
        print(f"mcvrt: warning: {damage_note(camera)}", file=sys.stderr)
    stored = StoredRun([t for c in cameras for t in results[c.id].tracklets],
                       [results[c.id].camera for c in cameras], cfg,
                       sum(results[c].frames for c in results if c not in resumed),
                       time.perf_counter() - start, dict(times.seconds))
    outputs = save_run(folder.work, stored)
    if cfg.output.gallery or cfg.output.report:
        crops = tracklet_crops(stored.cameras, stored.tracklets)
        outputs.append(save_crops(folder.work / CROPS, crops))
    result = associate(stored, folder.work, outputs, per_camera=per_camera)
    folder.publish()
    return replace(result, outputs=[out_dir / p.relative_to(folder.work) for p in result.outputs])


def rematch(run_dir: Path, out_dir: Path, matching: dict[str, Any] | None = None,
            links: Links = NO_LINKS) -> RunResult:
    """Redo the association of a finished run from its stored tracklets, with `matching` keys
    overriding its config and the user's `links`; writes the outputs (no gallery or videos:
    they need the frames) and the tracklets with the new config under `out_dir`."""
    stored = load_run(run_dir)
    cfg = stored.config
    if matching:
        merged = config_to_mapping(cfg) | {"matching": config_to_mapping(cfg.matching) | matching}
        cfg = config_from_mapping(merged)
    check_matching(cfg.matching)
    check_writable(out_dir)
    output = replace(cfg.output, gallery=False, save_video=False)
    stored = replace(stored, config=replace(cfg, output=output))
    outputs = save_run(out_dir, stored) + copy_crops(run_dir, out_dir)
    return associate(stored, out_dir, outputs, links)


LEARNED_TOPOLOGY = "topology.learned.yaml"
LEARNED_COMMENT = """Camera links learned from this run (matching.link_rounds): per ordered camera
pair, the travel-time window and where tracklets leave the first camera and enter the second.
Edit it and pass it as --topology to use it instead of learning (camera pairs it does not list
then never link)."""


def associate(stored: StoredRun, out_dir: Path, outputs: list[Path], links: Links = NO_LINKS,
              per_camera: dict[str, dict[str, Any]] | None = None) -> RunResult:
    """Match the stored tracklets across cameras and write the outputs, then summary.json and
    report.html (drawn from the files before it)."""
    cfg, times = stored.config, StageTimes(defaultdict(float, stored.stage_seconds))
    t = time.perf_counter()
    matching = cfg.matching.resolved(cfg.appearance.embedder.weights)
    global_ids, graph = match_tracklets(stored.tracklets, matching, load_compare(cfg.appearance),
                                        links)
    seconds = stored.seconds + (times.add("match", t) - t)
    learned = out_dir / LEARNED_TOPOLOGY
    if graph.graph.get("topology_source") == "learned":
        write_yaml(learned, graph.graph["topology"], LEARNED_COMMENT)
        outputs.append(learned)
    else:
        learned.unlink(missing_ok=True)  # not left over from an earlier run into this folder
    outputs += write_outputs(cfg, stored.cameras, stored.tracklets, global_ids,
                             graph_to_dict(graph), out_dir)
    from mcvrt.report import REPORT, write_report  # matplotlib: loaded when needed

    summary, report = out_dir / "summary.json", out_dir / REPORT
    written = [*outputs, summary, *([report] if cfg.output.report else [])]
    result = RunResult(stored.cameras, stored.frames, stored.tracklets, global_ids, seconds,
                       dict(times.seconds), written, per_camera or {})
    write_json(summary, summary_dict(result))
    if cfg.output.report:
        write_report(out_dir)
    else:
        report.unlink(missing_ok=True)  # not left over from an earlier run into this folder
    return result


def write_outputs(
    cfg: PipelineConfig,
    cameras: Sequence[Camera],
    tracklets: list[Tracklet],
    global_ids: dict[tuple[str, int], int],
    graph: dict,
    out_dir: Path,
) -> list[Path]:
    """Write CSVs, graph.json and the optional visual outputs; returns the paths written."""
    numbers = number_cameras([c.id for c in cameras])
    outputs = [out_dir / "tracks.csv", out_dir / "multicamera.txt", out_dir / "graph.json"]
    write_tracks_csv(outputs[0], tracklets, global_ids)
    write_aicity(outputs[1], tracklets, global_ids, numbers)
    write_json(outputs[2], graph)
    for camera in cameras:
        path = out_dir / "mot" / f"{camera.id}.txt"
        path.parent.mkdir(exist_ok=True)
        write_mot(path, [t for t in tracklets if t.camera_id == camera.id])
        outputs.append(path)
    if cfg.output.gallery or cfg.output.save_video:
        from mcvrt import visualize

        if cfg.output.gallery:
            crops = best_per_identity(load_crops(out_dir / CROPS), global_ids)
            outputs.append(visualize.write_gallery(out_dir / "gallery.png",
                                                   [c.id for c in cameras], crops))
        if cfg.output.save_video:
            outputs += visualize.write_videos(out_dir / "videos", cameras, tracklets, global_ids,
                                              cfg.input.max_frames)
    return outputs


def summary_dict(result: RunResult) -> dict:
    """The JSON summary: cameras (name -> AI-City integer id), counts and timings."""
    numbers = number_cameras([c.id for c in result.cameras])
    per_camera = defaultdict(int)
    for t in result.tracklets:
        per_camera[t.camera_id] += 1
    return {
        "cameras": numbers,
        "tracklets_per_camera": {c.id: per_camera[c.id] for c in result.cameras},
        "frames_per_camera": {c.id: {"decoded": c.frame_count, "claimed": c.claimed_frames,
                                     "skipped": c.lost_frames,
                                     "skipped_ranges": [list(r) for r in c.skipped]}
                              for c in result.cameras},
        "tracklets": len(result.tracklets),
        "global_ids": result.identities,
        "frames": result.frames,
        "seconds": round(result.seconds, 3),
        "fps": round(result.fps, 2),
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
    } | ({"per_camera": result.per_camera} if result.per_camera else {})
