"""Drawing one camera of a scenario.

Lanes, depth scaling, soft-edged pasting, visibility, weather.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mcvrt.errors import InputError
from mcvrt.scenario.config import CLASS_IDS, CameraConfig, LaneConfig, SensorConfig
from mcvrt.scenario.sensor import expose
from reid.degrade import (
    DEPTH_MIN_RANGE,
    FOG_AIRLIGHT_RANGE,
    FOG_BETA_RANGE,
    darken,
    fog,
    pseudo_depth,
)

CLASS_SIZE = {"car": 1.0, "motorcycle": 0.9, "bus": 1.5, "truck": 1.35}  # height vs a car

GtRow = tuple[int, int, int, int, int, int, int, float]  # frame, id, x, y, w, h, class, visibility


@dataclass(frozen=True)
class Appearance:
    """One vehicle driving once through one camera."""

    camera: int  # index into the scenario's cameras
    lane: int
    photo: str  # crop file name
    enter_s: float
    exit_s: float


@dataclass(frozen=True)
class Visit:
    """An appearance in the camera being drawn, with the vehicle's global id and class."""

    gid: int  # global id
    cls: str  # car / motorcycle / bus / truck
    appearance: Appearance


def condition_params(cam: CameraConfig, background: np.ndarray, rng: np.random.Generator
                     ) -> dict:
    """Degradation parameters of one camera, drawing those the config leaves open.

    Fog's pseudo-depth is computed once on the clean background, so it is stable over time.
    """
    if cam.condition == "night" and cam.sensor is not None:
        return {"sensor": asdict(cam.sensor)}
    if cam.condition == "night":
        return {"dark_factor": cam.dark_factor, "noise_std": cam.noise_std}
    if cam.condition == "fog":
        beta = cam.fog_beta if cam.fog_beta is not None else rng.uniform(*FOG_BETA_RANGE)
        air = cam.fog_airlight if cam.fog_airlight is not None else rng.uniform(*FOG_AIRLIGHT_RANGE)
        d_min = round(float(rng.uniform(*DEPTH_MIN_RANGE)), 4)
        return {"fog_beta": round(float(beta), 4), "fog_airlight": round(float(air), 4),
                "depth_min": d_min, "depth": pseudo_depth(background, d_min)}
    return {}


def render_camera(cam: CameraConfig, background: np.ndarray, visits: list[Visit], crops: Path,
                  fps: float, frames: int, feather: float, min_visibility: float,
                  params: dict, rng: np.random.Generator, path: Path) -> list[GtRow]:
    """Write one camera's video to `path`; return its ground-truth rows (1-based frames)."""
    h, w = background.shape[:2]
    lanes = [_lane_table(cam, lane, (w, h)) for lane in cam.lanes]
    photos = {v.appearance.photo: cv2.imread(str(crops / v.appearance.photo)) for v in visits}
    unreadable = [name for name, image in photos.items() if image is None]
    if unreadable:
        raise InputError(f"cannot read vehicle photo: {crops / unreadable[0]}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise InputError(f"cannot write video: {path}")
    rows: list[GtRow] = []
    for index in range(frames):
        t = index / fps
        sprites = []
        for v in visits:
            a = v.appearance
            if a.enter_s <= t <= a.exit_s:
                frac, curve = lanes[a.lane]
                u = (t - a.enter_s) / (a.exit_s - a.enter_s)
                x, y = np.interp(u, frac, curve[:, 0]), np.interp(u, frac, curve[:, 1])
                crop = photos[a.photo]
                bh = max(2, round(CLASS_SIZE[v.cls] * _car_height(cam, y, h)))
                bw = max(2, round(bh * crop.shape[1] / crop.shape[0]))
                sprites.append((float(y), v, crop, round(x - bw / 2), round(y - bh), bw, bh))
        image = background.copy()
        owner = np.zeros((h, w), np.int32)  # per pixel: 1-based rank of the nearest footprint
        drawn = []
        # far (small anchor row) to near, so nearer vehicles cover farther ones
        for rank, (_, v, crop, x1, y1, bw, bh) in enumerate(sorted(sprites, key=lambda s: s[0]), 1):
            footprint = _paste(image, crop, x1, y1, bw, bh, feather)
            if footprint is not None:
                fx0, fy0, fx1, fy1, area = footprint
                owner[fy0:fy1, fx0:fx1] = rank
                drawn.append((rank, v, fx0, fy0, fx1, fy1, area))
        for rank, v, fx0, fy0, fx1, fy1, area in drawn:
            mine = owner[fy0:fy1, fx0:fx1] == rank  # not hidden by nearer vehicles
            visibility = float(mine.sum()) / area
            if visibility >= min_visibility:
                ys, xs = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
                rows.append((index + 1, v.gid, fx0 + int(xs[0]), fy0 + int(ys[0]),
                             int(xs[-1] - xs[0]) + 1, int(ys[-1] - ys[0]) + 1,
                             CLASS_IDS[v.cls], round(visibility, 3)))
        writer.write(_degrade(image, cam.condition, params, rng))
    writer.release()
    return rows


def _paste(image: np.ndarray, crop: np.ndarray, x1: int, y1: int, bw: int, bh: int,
           feather: float) -> tuple[int, int, int, int, int] | None:
    """Blend `crop` resized to bw x bh at (x1, y1) with soft edges `feather`·min(bw, bh) wide.

    Returns the footprint (alpha >= 0.5) clipped to the image as x0, y0, x1, y1 plus its
    unclipped area, or None when nothing of it lands in the image.
    """
    h, w = image.shape[:2]
    ry, rx = _ramp(bh, feather * min(bw, bh)), _ramp(bw, feather * min(bw, bh))
    cx0, cy0, cx1, cy1 = max(x1, 0), max(y1, 0), min(x1 + bw, w), min(y1 + bh, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return None
    shrink = bh < crop.shape[0]
    patch = cv2.resize(crop, (bw, bh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    sub = (slice(cy0 - y1, cy1 - y1), slice(cx0 - x1, cx1 - x1))
    alpha = np.minimum(ry[:, None], rx[None, :])[sub][..., None].astype(np.float32)
    region = image[cy0:cy1, cx0:cx1].astype(np.float32)
    image[cy0:cy1, cx0:cx1] = np.rint(alpha * patch[sub] + (1 - alpha) * region).astype(np.uint8)
    # the ramps are symmetric, so the footprint is a centred rectangle
    iy, ix = np.flatnonzero(ry >= 0.5), np.flatnonzero(rx >= 0.5)
    fx0, fy0, fx1, fy1 = x1 + ix[0], y1 + iy[0], x1 + ix[-1] + 1, y1 + iy[-1] + 1
    area = int((fx1 - fx0) * (fy1 - fy0))
    fx0, fy0, fx1, fy1 = max(fx0, 0), max(fy0, 0), min(fx1, w), min(fy1, h)
    return (int(fx0), int(fy0), int(fx1), int(fy1), area) if fx0 < fx1 and fy0 < fy1 else None


def _car_height(cam: CameraConfig, y: np.ndarray | float, height: int) -> np.ndarray | float:
    """Pixel height of a car whose bottom is on row `y`: linear in the row (the depth cue)."""
    depth = np.clip(np.asarray(y, np.float64) / height, 0.0, 1.0)
    return height * (cam.height_top + (cam.height_bottom - cam.height_top) * depth)


def _lane_table(cam: CameraConfig, lane: LaneConfig, size_wh: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of ground distance driven, (K, 2) pixel point) along the lane's Bezier curve.

    Ground distance is image distance divided by the local car height, so vehicles slow down on
    screen as they recede, as at constant speed under perspective.
    """
    pts = np.asarray(lane.path, np.float64) * size_wh
    n = len(pts) - 1
    s = np.linspace(0.0, 1.0, 256)[:, None]
    curve = sum(math.comb(n, i) * s**i * (1 - s) ** (n - i) * pts[i] for i in range(n + 1))
    step = np.linalg.norm(np.diff(curve, axis=0), axis=1) / _car_height(cam, curve[1:, 1],
                                                                        size_wh[1])
    driven = np.concatenate([[0.0], np.cumsum(step)])
    return driven / max(driven[-1], 1e-9), curve


def _ramp(n: int, width: float) -> np.ndarray:
    """Soft-edge weights along one side of n pixels: 0 at the border to 1 at `width` inside."""
    inside = np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5)
    return np.clip(inside / width, 0.0, 1.0) if width > 0 else np.ones(n)


def _degrade(image: np.ndarray, condition: str, params: dict, rng: np.random.Generator
             ) -> np.ndarray:
    if condition == "night" and "sensor" in params:
        return expose(image, SensorConfig(**params["sensor"]), rng)
    if condition == "night":
        return darken(image, params["dark_factor"], params["noise_std"], rng)
    if condition == "fog":
        return fog(image, params["fog_beta"], params["fog_airlight"], params["depth"])
    return image
