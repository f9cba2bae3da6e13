"""How cameras execute (`input.runner`, `--runner`): `local`, `processes` or `ray`.

`make_runner` builds the configured `Runner`; each yields the cameras' `CameraResult`s to the
driver (`pipeline.run`) as they finish.
"""

from __future__ import annotations

from collections.abc import Callable

from mcvrt.appearance import Embed
from mcvrt.camera import Detect
from mcvrt.config import PipelineConfig
from mcvrt.runners.base import Runner, Started, run_bounded
from mcvrt.runners.local import LocalRunner
from mcvrt.runners.processes import ProcessRunner
from mcvrt.runners.ray_runner import RayRunner

RUNNERS: dict[str, Callable[[PipelineConfig, Detect | None, Embed | None], Runner]] = {
    "local": LocalRunner,
    "processes": ProcessRunner,
    "ray": RayRunner,
}


def make_runner(cfg: PipelineConfig, detect: Detect | None = None,
                embed: Embed | None = None) -> Runner:
    """The runner `input.runner` names, checked (e.g. Ray installed, its cluster reachable)."""
    return RUNNERS[cfg.input.runner](cfg, detect, embed)


__all__ = ["RUNNERS", "LocalRunner", "ProcessRunner", "RayRunner", "Runner", "Started",
           "make_runner", "run_bounded"]
