"""Multi-camera scenarios with exact ground truth; see `mcvrt.scenario.build` for how they look."""

from mcvrt.scenario.build import build_scenario
from mcvrt.scenario.config import (
    DEFAULT_SCENARIO,
    BackgroundConfig,
    CameraConfig,
    CropsConfig,
    LaneConfig,
    LinkConfig,
    ScenarioConfig,
    TrafficConfig,
)

__all__ = [
    "DEFAULT_SCENARIO",
    "BackgroundConfig",
    "CameraConfig",
    "CropsConfig",
    "LaneConfig",
    "LinkConfig",
    "ScenarioConfig",
    "TrafficConfig",
    "build_scenario",
]
