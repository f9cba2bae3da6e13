"""Render multi-camera scenarios with exact ground truth from a real background and real crops.

Background: one still per camera, the temporal median of frames sampled from a real traffic video
(moving vehicles vanish), with listed boxes (parked vehicles) inpainted away, optionally mirrored;
each camera shows the scenario's clip or its own. The clips' own traffic is therefore *not* in
the scenario: every vehicle in a rendered video is labelled.

Vehicles: real two-camera ReID crops (`{class}_{NNNN}_cam{1|2}.jpg`) pasted with feathered
edges, driving along Bezier lanes at constant ground speed, scaled with depth (the anchor row
sets the size), drawn far-to-near so nearer vehicles occlude farther ones. A vehicle on a route
camera A -> camera B (-> C ...) shows its cam1 photo in A, its cam2 photo in B (cam1 again in C),
each camera after a travel time drawn from that link's range, on a lane that carries the route's
direction; the others stay in one camera (matching distractors). Conditions per camera:
day, night (`reid.degrade.darken`), fog (`reid.degrade.fog` on a pseudo-depth map).

Ground-truth box: the visible extent of the vehicle's footprint (the pasted crop where its
feathered alpha is >= 0.5), i.e. the bounding box of the footprint pixels that lie inside the
frame and are not covered by nearer vehicles' footprints. Visibility = those pixels / the whole
footprint. Boxes less visible than `traffic.min_visibility` are left out of the ground truth.
"""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from mcvrt.errors import ConfigError, InputError
from mcvrt.scenario.config import (
    CLASS_IDS,
    FLIPS,
    BackgroundConfig,
    CropsConfig,
    ScenarioConfig,
)
from mcvrt.scenario.render import Appearance, Visit, condition_params, render_camera

CROP_NAME = re.compile(r"([a-z]+)_(\d+)_cam([12])\.jpg")


def build_scenario(cfg: ScenarioConfig, out_dir: Path) -> Path:
    """Render `cfg` into `out_dir` (videos, ground truth, scenario.json); return `out_dir`.

    Deterministic given `cfg.seed`: the traffic comes from one random stream, each camera's
    weather and noise from its own, so changing a camera's condition leaves the traffic and
    the ground truth unchanged.
    """
    out_dir = Path(out_dir)
    identities = _load_identities(cfg.crops)
    clips = {bg: _median_background(bg) for bg in map(cfg.background_of, cfg.cameras)}
    seeds = np.random.SeedSequence(cfg.seed).spawn(1 + len(cfg.cameras))
    rng = np.random.default_rng(seeds[0])
    crossing = [[float(rng.uniform(*lane.crossing_s)) for lane in cam.lanes] for cam in cfg.cameras]
    schedule = _schedule(cfg, identities, crossing, rng)

    out_dir.mkdir(parents=True, exist_ok=True)
    cameras, gt_rows = [], []
    for index, cam in enumerate(cfg.cameras):
        cam_rng = np.random.default_rng(seeds[1 + index])
        clip = cfg.background_of(cam)
        bg = clips[clip] if FLIPS[cam.flip] is None else cv2.flip(clips[clip], FLIPS[cam.flip])
        params = condition_params(cam, bg, cam_rng)
        visits = [Visit(gid, key.split("_")[0], a)
                  for gid, (key, apps) in enumerate(schedule.items(), 1)
                  for a in apps if a.camera == index]
        fps = cam.fps or cfg.fps  # one scene, each camera at its own frame rate
        frames = max(1, round(cfg.duration_s * fps))
        rows = render_camera(cam, bg, visits, cfg.crops.folder, fps, frames,
                             cfg.traffic.feather, cfg.traffic.min_visibility, params, cam_rng,
                             out_dir / f"{cam.name}.mp4")
        gt_rows += [(cam.number, *r) for r in rows]
        cameras.append({"name": cam.name, "id": cam.number, "video": f"{cam.name}.mp4",
                        "fps": fps, "frames": frames,
                        "background": str(clip.video), "size_wh": [bg.shape[1], bg.shape[0]],
                        "condition": cam.condition, "flip": cam.flip,
                        **{k: v for k, v in params.items() if k != "depth"}})
    _write_ground_truth(cfg, out_dir, gt_rows)
    summary = {
        "seed": cfg.seed, "fps": cfg.fps, "frames": max(1, round(cfg.duration_s * cfg.fps)),
        "crops": str(cfg.crops.folder),
        "cameras": cameras,
        "links": [{"from": k.from_camera, "to": k.to_camera, "travel_s": list(k.travel_s)}
                  for k in cfg.links],
        "routes": [list(r) for r in cfg.route_list],
        "identities": _identities_json(cfg, schedule, gt_rows),
    }
    (out_dir / "scenario.json").write_text(json.dumps(summary, indent=1) + "\n")
    return out_dir


def _load_identities(crops: CropsConfig) -> list[str]:
    """Sorted identities ("class_NNNN") of the wanted classes listed, each with both photos."""
    if not crops.folder.is_dir():
        raise InputError(f"crop folder not found: {crops.folder}")
    if crops.identities is None:
        names = sorted(p.name for p in crops.folder.glob("*.jpg"))
    elif crops.identities.is_file():
        names = crops.identities.read_text().split()
    else:
        raise InputError(f"identity list not found: {crops.identities}")
    out: set[str] = set()
    for name in names:
        m = CROP_NAME.fullmatch(Path(name).name)
        if m is None or m.group(1) not in CLASS_IDS:
            raise InputError(
                f"crop name {name!r} is not {{car|motorcycle|bus|truck}}_NNNN_cam1|2.jpg")
        key = f"{m.group(1)}_{m.group(2)}"
        if m.group(1) not in crops.classes:
            continue
        missing = [p for p in (f"{key}_cam1.jpg", f"{key}_cam2.jpg")
                   if not (crops.folder / p).is_file()]
        if missing:
            raise InputError(f"identity {key} lacks {missing[0]} in {crops.folder}")
        out.add(key)
    if not out:
        raise InputError(f"no {'/'.join(crops.classes)} crops found in {crops.folder}")
    return sorted(out)


def _median_background(bg: BackgroundConfig) -> np.ndarray:
    """Temporal median of `median_frames` evenly spaced frames, with `erase` boxes inpainted."""
    cap, count = cv2.VideoCapture(str(bg.video)), 0
    while cap.grab():  # count frames that decode: headers can lie
        count += 1
    cap.release()
    if not count:
        raise InputError(f"cannot read background video: {bg.video}")
    wanted = set(np.linspace(0, count - 1, min(bg.median_frames, count)).astype(int))
    cap, images = cv2.VideoCapture(str(bg.video)), []
    for i in range(count):
        cap.grab()
        if i in wanted:
            images.append(cap.retrieve()[1])
    cap.release()
    median = np.median(np.stack(images), axis=0).astype(np.uint8)
    if bg.erase:
        mask = np.zeros(median.shape[:2], np.uint8)
        for x1, y1, x2, y2 in bg.erase:
            mask[max(0, y1):y2, max(0, x1):x2] = 255
        median = cv2.inpaint(median, mask, 5, cv2.INPAINT_TELEA)
    return median


def _schedule(cfg: ScenarioConfig, identities: list[str], crossing: list[list[float]],
              rng: np.random.Generator) -> dict[str, list[Appearance]]:
    """Give `traffic.vehicles` identities a route and entry times that respect lane headways.

    round(single_camera_fraction * vehicles) of them stay in one camera (taking the cameras in
    turn, on any lane); the others follow a random route on lanes of its direction, showing
    photos cam1, cam2, cam1, ... in its cameras. Routed vehicles are placed first, as they are
    the harder to fit.
    """
    t = cfg.traffic
    if len(identities) < t.vehicles:
        raise ConfigError(f"traffic.vehicles = {t.vehicles} but only {len(identities)} identities")
    index = {c.name: i for i, c in enumerate(cfg.cameras)}
    routes = cfg.route_list
    travel_s = {(k.from_camera, k.to_camera): k.travel_s for k in cfg.links}
    singles = t.vehicles if not routes else round(t.single_camera_fraction * t.vehicles)
    entries: dict[tuple[int, int], list[float]] = {}  # (camera, lane) -> entry times
    schedule: dict[str, list[Appearance]] = {}
    for n, key in enumerate(rng.permutation(identities)[: t.vehicles]):
        if n >= t.vehicles - singles:  # single-camera vehicles go round the cameras
            cams, photos, travel = [n % len(cfg.cameras)], [int(rng.integers(1, 3))], []
            direction = "any"
        else:
            route = routes[int(rng.integers(len(routes)))]
            cams, photos = [index[name] for name in route], [1 + i % 2 for i in range(len(route))]
            travel, direction = [travel_s[step] for step in pairwise(route)], cfg.direction(route)
        allowed = [cfg.cameras[c].takes(direction) for c in cams]
        for _ in range(200):
            gaps = [0.0] + [float(rng.uniform(*r)) for r in travel]
            lanes = [options[int(rng.integers(len(options)))] for options in allowed]
            spans = [crossing[c][lane] for c, lane in zip(cams, lanes, strict=True)]
            total = sum(spans) + sum(gaps)
            if total > cfg.duration_s:
                continue
            start = float(rng.uniform(0, cfg.duration_s - total))
            enters = [start + sum(spans[:i]) + sum(gaps[: i + 1]) for i in range(len(cams))]
            if all(abs(e - other) >= t.headway_s
                   for c, lane, e in zip(cams, lanes, enters, strict=True)
                   for other in entries.get((c, lane), [])):
                break
        else:
            raise ConfigError(f"cannot fit {t.vehicles} vehicles into {cfg.duration_s} s: lower "
                              "traffic.vehicles or headway_s, or add lanes or duration")
        schedule[str(key)] = [
            Appearance(c, lane, f"{key}_cam{p}.jpg", e, e + s)
            for c, lane, e, s, p in zip(cams, lanes, enters, spans, photos, strict=True)
        ]
        for c, lane, e in zip(cams, lanes, enters, strict=True):
            entries.setdefault((c, lane), []).append(e)
    return schedule


def _write_ground_truth(cfg: ScenarioConfig, out_dir: Path, rows: list[tuple]) -> None:
    """gt/multicamera.txt (AI-City) and gt/<camera>/gt.txt (MOTChallenge, 9 columns)."""
    gt = out_dir / "gt"
    gt.mkdir(exist_ok=True)
    rows = sorted(rows)
    (gt / "multicamera.txt").write_text("".join(
        f"{c} {gid} {f} {x} {y} {bw} {bh} -1 -1\n" for c, f, gid, x, y, bw, bh, _, _ in rows))
    for cam in cfg.cameras:
        (gt / cam.name).mkdir(exist_ok=True)
        (gt / cam.name / "gt.txt").write_text("".join(
            f"{f},{gid},{x},{y},{bw},{bh},1,{cls},{vis}\n"
            for c, f, gid, x, y, bw, bh, cls, vis in rows if c == cam.number))


def _identities_json(cfg: ScenarioConfig, schedule: dict[str, list[Appearance]],
                     rows: list[tuple]) -> list[dict]:
    """Each identity's global id, class and per-camera visits with their ground-truth frames."""
    frames: dict[tuple[int, int], list[int]] = {}
    for c, f, gid, *_ in rows:
        frames.setdefault((c, gid), []).append(f)
    out = []
    for gid, (key, apps) in enumerate(schedule.items(), 1):
        visits = []
        for a in apps:
            cam = cfg.cameras[a.camera]
            seen = frames.get((cam.number, gid), [])
            visits.append({"camera": cam.name, "photo": a.photo, "lane": a.lane,
                           "enter_s": round(a.enter_s, 3), "exit_s": round(a.exit_s, 3),
                           "first_frame": min(seen, default=None),
                           "last_frame": max(seen, default=None)})
        cls = key.split("_")[0]
        out.append({"id": gid, "name": key, "class": cls, "class_id": CLASS_IDS[cls],
                    "appearances": visits})
    return out
