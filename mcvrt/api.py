"""The Python entry points: `mcvrt.run`, `mcvrt.configure` and `parse_overrides`.

Config overrides are one flat dict of dotted keys, the names `configs/default.yaml` uses (as
for `--set` on the command line): ``{"matching.min_similarity": 0.8, "input.max_frames": 50}``.
The pipeline and its models are imported on the first call, not with `mcvrt`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcvrt.config import PipelineConfig
    from mcvrt.pipeline import Detect, RunResult


def configure(
    config: str | Path | PipelineConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> PipelineConfig:
    """A pipeline config: `config` (a YAML path, a `PipelineConfig`, or None for the defaults of
    `configs/default.yaml`) with `overrides`, a dict of dotted keys to values.

    Unknown keys and out-of-range values raise `ConfigError` naming the dotted key.

    >>> import mcvrt
    >>> cfg = mcvrt.configure(overrides={"matching.min_similarity": 0.8, "input.max_frames": 50})
    >>> cfg.matching.min_similarity, cfg.input.max_frames
    (0.8, 50)
    >>> mcvrt.configure(cfg, {"detector.classes": [2, 7]}).detector.classes
    (2, 7)
    >>> mcvrt.configure(overrides={"matching.min_similarty": 0.8})
    Traceback (most recent call last):
    reid.errors.ConfigError: unknown key 'matching.min_similarty' (did you mean 'min_similarity'?)
    >>> mcvrt.configure(overrides={"matching": {"min_similarity": 0.8}})
    Traceback (most recent call last):
    reid.errors.ConfigError: override 'matching' names a section; give its keys, e.g. 'matching.KEY'
    """
    from mcvrt.config import (
        PipelineConfig,
        config_from_mapping,
        config_to_mapping,
        load_config,
    )
    from mcvrt.errors import ConfigError

    cfg = config if isinstance(config, PipelineConfig) else load_config(config)
    if not overrides:
        return cfg
    data = config_to_mapping(cfg)
    for key, value in overrides.items():
        *sections, name = key.split(".")
        node = data
        for section in sections:
            node = node.setdefault(section, {})  # an unknown section fails in config_from_mapping
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {section!r} is not a section")
        if isinstance(node.get(name), dict):
            raise ConfigError(f"override {key!r} names a section; give its keys, "
                              f"e.g. '{key}.KEY'")
        node[name] = config_to_mapping(value)
    return config_from_mapping(data)


def parse_overrides(items: Sequence[str], flag: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` items (as `flag` takes them) as {dotted key: value} for `configure`, each
    value read as YAML (``0.8`` a number, ``[2, 7]`` a list, ``off`` false); McvrtError when an
    item has no ``=`` or its value is not YAML.

    >>> parse_overrides(["matching.min_similarity=0.8", "detector.classes=[2, 7]"])
    {'matching.min_similarity': 0.8, 'detector.classes': [2, 7]}
    """
    import yaml

    from mcvrt.config import safe_yaml
    from mcvrt.errors import McvrtError

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise McvrtError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = safe_yaml(value)
        except yaml.YAMLError as exc:
            raise McvrtError(f"{flag} {item!r}: the value is not YAML "
                             f"({str(exc).splitlines()[0]})") from None
    return overrides


def run(
    videos: Sequence[str | Path],
    out: str | Path = "runs/latest",
    *,
    config: str | Path | PipelineConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    camera_ids: Sequence[str] | None = None,
    time_offsets: Sequence[float] | None = None,
    detect: Detect | None = None,
    runner: str | None = None,
    resume: bool = False,
) -> RunResult:
    """Track vehicles in every video and give each vehicle one global id across cameras, as
    `mcvrt run` does; writes tracks.csv, mot/, multicamera.txt, graph.json, summary.json,
    gallery.png and report.html under `out`.

    videos: files or glob patterns, one camera each, in camera order.
    config, overrides: as for `configure`, e.g. ``overrides={"input.max_frames": 100}``.
    camera_ids: default the file stems. time_offsets: seconds added to each camera's clock.
    detect: a callable from a BGR image to `Detections`, instead of the configured detector.
    runner: how cameras execute, "local", "processes" or "ray" (default `input.runner`); Ray's
    address and resources are the `ray.*` keys, e.g. ``overrides={"ray.address": "auto"}``.
    resume: reuse the tracklets of cameras an interrupted or earlier run into `out` finished.

    Returns a `RunResult`: `cameras`, `tracklets`, `global_ids` ((camera id, track id) ->
    global id), `identities`, `fps`, `stage_seconds` and the `outputs` written. Bad input
    raises `McvrtError` or `ConfigError` before any heavy work. With more than one worker
    (`input.workers`) the cameras run in processes that import the main module, so a script
    calls `run` under ``if __name__ == "__main__":``.

    >>> import mcvrt
    >>> result = mcvrt.run(["demo/cam1.mp4", "demo/cam2.mp4"], out="runs/x", overrides={
    ...     "detector.weights": "../shared/data/weights/yolo11n_int8_openvino_model",
    ...     "input.max_frames": 30})
    >>> [camera.id for camera in result.cameras], result.frames
    (['cam1', 'cam2'], 60)
    >>> result.identities > 0, "runs/x/tracks.csv" in map(str, result.outputs)
    (True, True)
    """
    from mcvrt.pipeline import run as run_pipeline
    from mcvrt.video import expand_videos, probe_cameras

    cfg = configure(config, {**(overrides or {}), **({"input.runner": runner} if runner else {})})
    cameras = probe_cameras(expand_videos([str(v) for v in videos]), camera_ids, time_offsets,
                            cfg.input.max_frames)
    return run_pipeline(cfg, cameras, Path(out), detect=detect, resume=resume)
