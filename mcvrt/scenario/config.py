"""Scenario definitions (`configs/scenarios/*.yaml`) as frozen dataclasses.

Load with `reid.config.load_yaml(ScenarioConfig, path)`: unknown keys and out-of-range values raise
`ConfigError` naming the key. Relative paths are relative to the working directory (the project
root for the shipped configs, which read `../shared/data/...`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from mcvrt.config import CONFIGS
from reid.config import require

CLASS_IDS = {"car": 2, "motorcycle": 3, "bus": 5, "truck": 7}  # COCO ids
CONDITIONS = ("day", "night", "fog")
DIRECTIONS = ("any", "forward", "backward")  # lane traffic: forward = along the camera order
FLIPS = {"none": None, "x": 1, "y": 0, "xy": -1}  # cv2.flip codes


@dataclass(frozen=True)
class BackgroundConfig:
    video: Path  # a real traffic video; its temporal median is the background
    median_frames: int = 50  # frames sampled evenly over the clip for the median
    erase: tuple[tuple[int, int, int, int], ...] = ()  # x1 y1 x2 y2 (video px) boxes to inpaint

    def __post_init__(self) -> None:
        require(self.median_frames >= 1, "background.median_frames must be >= 1")
        require(all(len(b) == 4 for b in self.erase), "background.erase boxes need 4 numbers")


@dataclass(frozen=True)
class CropsConfig:
    folder: Path  # images named {class}_{NNNN}_cam{1|2}.jpg
    identities: Path | None = None  # file listing image names (e.g. val.txt); None = all pairs
    # Motorcycles are left out by default: the UIT ones are rear views with riders, which COCO
    # YOLO11n finds as "motorcycle" in under 10 % of cases at any size (it sees a person).
    classes: tuple[str, ...] = ("car", "bus", "truck")

    def __post_init__(self) -> None:
        require(len(self.classes) > 0 and set(self.classes) <= set(CLASS_IDS),
                f"crops.classes must be a non-empty subset of {', '.join(CLASS_IDS)}")


@dataclass(frozen=True)
class LaneConfig:
    path: tuple[tuple[float, float], ...]  # Bezier control points of the vehicle's bottom centre,
    # as fractions of frame width and height (may lie outside [0, 1] to enter/leave off-screen)
    crossing_s: tuple[float, float] = (2.5, 4.0)  # range of the lane's time to drive its path
    # which routes drive here: forward ones (cameras in list order, cam1 -> cam2), backward ones
    # (cam2 -> cam1) or both; single-camera vehicles take any lane
    direction: str = "any"

    def __post_init__(self) -> None:
        require(len(self.path) >= 2 and all(len(p) == 2 for p in self.path),
                "lane.path needs at least two [x, y] points")
        require(self.direction in DIRECTIONS,
                f"lane.direction must be one of {', '.join(DIRECTIONS)}")
        require(len(self.crossing_s) == 2 and 0 < self.crossing_s[0] <= self.crossing_s[1],
                "lane.crossing_s must be [min, max] with 0 < min <= max")


@dataclass(frozen=True)
class SensorConfig:
    """A low-light camera sensor (`mcvrt.scenario.sensor`): what a real night camera adds to a
    merely darker picture. The defaults are a plausible street camera at night."""

    exposure: float = 0.3  # light reaching the sensor vs the day picture, in linear light
    gamma: float = 2.2  # the picture is decoded with 2.2 and re-encoded with this (> 2.2: darker
    # shadows, as a camera's night tone curve; < 2.2: lifted shadows)
    full_well: float = 600.0  # photo-electrons of a white pixel at exposure 1: Poisson shot noise
    # (fewer electrons, more noise; 600 x 0.3 = 180 at white)
    read_noise: float = 4.0  # Gaussian read noise, electrons (std)
    blur_sigma: float = 0.8  # Gaussian optical / motion blur before the sensor, px
    saturation: float = 0.5  # chroma kept (0 grey, 1 unchanged): low-light ISPs mute colour noise
    blue_cast: float = 0.08  # white balance tint: blue x (1 + c), red x (1 - c)

    def __post_init__(self) -> None:
        require(0 < self.exposure <= 1, "sensor.exposure must be in (0, 1]")
        require(self.gamma > 0 and self.full_well > 0 and self.read_noise >= 0
                and self.blur_sigma >= 0, "sensor: gamma and full_well must be > 0, "
                "read_noise and blur_sigma >= 0")
        require(0 <= self.saturation <= 1 and 0 <= self.blue_cast < 1,
                "sensor: saturation must be in [0, 1], blue_cast in [0, 1)")


@dataclass(frozen=True)
class CameraConfig:
    name: str  # must end in digits: the AI-City integer camera id
    lanes: tuple[LaneConfig, ...]
    condition: str = "day"  # day | night | fog
    flip: str = "none"  # none | x | y | xy: mirror the background
    background: BackgroundConfig | None = None  # this camera's own clip (None: the scenario's)
    height_top: float = 0.2  # a car's height / frame height with its anchor on the top row
    height_bottom: float = 0.4  # ... on the bottom row; linear in between (depth)
    dark_factor: float = 0.3  # night: pixels x factor (the ALSA x0.3 protocol) ...
    noise_std: float = 3.0  # ... plus Gaussian noise (8-bit units)
    sensor: SensorConfig | None = None  # night: a low-light sensor instead of the two above
    fog_beta: float | None = None  # fog: scattering; None = drawn from U[0.4, 1.6]
    fog_airlight: float | None = None  # fog: grey airlight; None = drawn from U[0.5, 1]
    fps: float | None = None  # this camera's frame rate (None: the scenario's)

    def __post_init__(self) -> None:
        require(self.fps is None or self.fps > 0, f"camera {self.name}: fps must be > 0")
        require(re.fullmatch(r".*?\d+", self.name) is not None,
                f"camera name {self.name!r} must end in digits (its AI-City id)")
        require(len(self.lanes) >= 1, f"camera {self.name} needs at least one lane")
        require(self.condition in CONDITIONS, f"camera {self.name}: condition must be one of "
                f"{', '.join(CONDITIONS)}")
        require(self.flip in FLIPS, f"camera {self.name}: flip must be one of {', '.join(FLIPS)}")
        require(0 < self.height_top <= 1 and 0 < self.height_bottom <= 1,
                f"camera {self.name}: height_top/height_bottom must be in (0, 1]")
        require(0 <= self.dark_factor <= 1 and self.noise_std >= 0,
                f"camera {self.name}: dark_factor must be in [0, 1], noise_std >= 0")
        require(self.sensor is None or self.condition == "night",
                f"camera {self.name}: sensor applies to night cameras only")
        require(self.fog_beta is None or self.fog_beta >= 0, f"camera {self.name}: fog_beta >= 0")
        require(self.fog_airlight is None or 0 <= self.fog_airlight <= 1,
                f"camera {self.name}: fog_airlight must be in [0, 1]")

    @property
    def number(self) -> int:
        return int(re.search(r"\d+$", self.name).group())  # type: ignore[union-attr]

    def takes(self, direction: str) -> list[int]:
        """Indices of the lanes that carry `direction` traffic ("any": every lane)."""
        return [i for i, lane in enumerate(self.lanes)
                if direction == "any" or lane.direction in ("any", direction)]


@dataclass(frozen=True)
class LinkConfig:
    from_camera: str  # vehicles leave this camera ...
    to_camera: str  # ... and enter this one after the travel time
    travel_s: tuple[float, float] = (2.0, 6.0)

    def __post_init__(self) -> None:
        require(len(self.travel_s) == 2 and 0 <= self.travel_s[0] <= self.travel_s[1],
                "link.travel_s must be [min, max] with 0 <= min <= max")


@dataclass(frozen=True)
class TrafficConfig:
    vehicles: int = 20  # identities rendered
    single_camera_fraction: float = 0.3  # share of vehicles seen by one camera only
    headway_s: float = 1.2  # least time between two vehicles entering the same lane
    min_visibility: float = 0.3  # ground truth keeps boxes at least this visible
    feather: float = 0.1  # soft-edge width as a fraction of the pasted crop's shorter side

    def __post_init__(self) -> None:
        require(self.vehicles >= 1, "traffic.vehicles must be >= 1")
        require(0 <= self.single_camera_fraction <= 1,
                "traffic.single_camera_fraction must be in [0, 1]")
        require(self.headway_s >= 0, "traffic.headway_s must be >= 0")
        require(0 < self.min_visibility <= 1, "traffic.min_visibility must be in (0, 1]")
        require(0 <= self.feather <= 0.5, "traffic.feather must be in [0, 0.5]")


@dataclass(frozen=True)
class ScenarioConfig:
    crops: CropsConfig
    cameras: tuple[CameraConfig, ...]
    background: BackgroundConfig | None = None  # of cameras without their own (needed if any)
    links: tuple[LinkConfig, ...] = ()  # travel times between cameras
    # camera sequences vehicles drive, each step a link, e.g. [cam3, cam2, cam1]; photos cam1,
    # cam2, cam1, ... in turn. None: every link is a two-camera route
    routes: tuple[tuple[str, ...], ...] | None = None
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    seed: int = 0
    fps: float = 10.0
    duration_s: float = 20.0

    def __post_init__(self) -> None:
        names = [c.name for c in self.cameras]
        numbers = [c.number for c in self.cameras]
        require(len(names) >= 1, "scenario needs at least one camera")
        require(len(set(numbers)) == len(numbers), "camera names must end in distinct numbers")
        for link in self.links:
            require(link.from_camera in names and link.to_camera in names,
                    f"link {link.from_camera} -> {link.to_camera} names an unknown camera")
            require(link.from_camera != link.to_camera, "a link must join two different cameras")
        require(self.fps > 0 and self.duration_s > 0, "fps and duration_s must be > 0")
        require(self.seed >= 0, "seed must be >= 0")
        require(self.background is not None or all(c.background for c in self.cameras),
                "background is needed unless every camera has its own")
        links = {(k.from_camera, k.to_camera) for k in self.links}
        for route in self.route_list:
            text = " -> ".join(route)
            require(len(route) >= 2 and set(route) <= set(names),
                    f"route {text} needs two or more of the scenario's cameras")
            for step in pairwise(route):
                require(step in links, f"route {text}: no link {step[0]} -> {step[1]}")
            direction = self.direction(route)
            require(direction != "any", f"route {text} must follow the camera order one way")
            for name in route:
                require(bool(self.cameras[names.index(name)].takes(direction)),
                        f"route {text}: camera {name} has no lane for {direction} traffic")

    def direction(self, route: Sequence[str]) -> str:
        """"forward" if `route` visits cameras in list order, "backward" if in reverse, else
        "any"."""
        names = [c.name for c in self.cameras]
        steps = [names.index(b) - names.index(a) for a, b in pairwise(route)]
        if all(s > 0 for s in steps):
            return "forward"
        return "backward" if all(s < 0 for s in steps) else "any"

    def background_of(self, camera: CameraConfig) -> BackgroundConfig:
        """The clip `camera` shows: its own, else the scenario's."""
        clip = camera.background or self.background
        assert clip is not None  # __post_init__ checked
        return clip

    @property
    def route_list(self) -> list[tuple[str, ...]]:
        """`routes`, or every link as a two-camera route."""
        if self.routes is not None:
            return list(self.routes)
        return [(k.from_camera, k.to_camera) for k in self.links]


DEFAULT_SCENARIO = CONFIGS / "scenarios" / "default.yaml"
