"""What the report shows, read from a run folder: summary.json, graph.json (tracklets with their
times and global ids, the topology used), crops.npz and videos/, plus an evaluation when given."""

from __future__ import annotations

import base64
import itertools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcvrt.crops import CROPS, Crop, best_per_identity, load_crops
from mcvrt.errors import InputError
from mcvrt.export import CLASS_NAMES
from mcvrt.visualize import color_for


@dataclass(frozen=True)
class Sighting:
    """One tracklet: a vehicle's pass through one camera."""

    camera: str
    track_id: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CameraView:
    """One identity in one camera: its sightings there, its best crop, the annotated video."""

    camera: str
    sightings: tuple[Sighting, ...]
    crop: str | None  # data URI of a JPEG, None when the run stored no crop
    video: str | None  # link relative to the run folder, at the first sighting; None: not saved


@dataclass(frozen=True)
class Identity:
    """One global id: its cameras in the order it was first seen in them."""

    global_id: int
    vehicle: str  # majority class over its frames
    color: str  # "#rrggbb", the colour the annotated videos draw it in
    views: tuple[CameraView, ...]

    @property
    def sightings(self) -> list[Sighting]:
        """Every sighting in every camera, by start time."""
        return sorted((s for v in self.views for s in v.sightings), key=lambda s: s.start_s)


@dataclass(frozen=True)
class CameraLink:
    """An ordered camera pair: vehicles seen going from one to the other, and its time window."""

    first: str
    second: str
    vehicles: int  # identities seen in `first`, next in `second`
    window_s: tuple[float, float] | None  # the topology's travel-time window, None: no topology
    transitions: int  # the learned window rests on this many transitions (0: given or none)


@dataclass(frozen=True)
class RunView:
    """Everything the report shows of one run folder."""

    name: str
    summary: dict[str, Any]
    cameras: tuple[str, ...]
    identities: tuple[Identity, ...]  # multi-camera first (more cameras first), then by time
    links: tuple[CameraLink, ...]
    topology_source: str | None  # "given", "learned", or None (time limit alone)
    videos: dict[str, str]  # camera -> link to its annotated video
    has_crops: bool
    evaluation: dict[str, Any] | None  # `EvalReport.to_dict()`

    @property
    def multi_camera(self) -> int:
        """Identities seen by more than one camera."""
        return sum(len(i.views) > 1 for i in self.identities)

    def identities_seen(self, camera: str) -> int:
        """Identities seen by `camera`."""
        return sum(any(v.camera == camera for v in i.views) for i in self.identities)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"not a run folder (no {path.name}): {path.parent}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None


def _data_uri(crop: Crop | None) -> str | None:
    if crop is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(crop.jpeg).decode("ascii")


def _hex(global_id: int) -> str:
    b, g, r = color_for(global_id)
    return f"#{r:02x}{g:02x}{b:02x}"


def _identities(nodes: list[dict], cameras: tuple[str, ...], crops: dict, videos: dict[str, str]
                ) -> list[Identity]:
    """One `Identity` per global id of the graph's tracklet nodes."""
    by_id: dict[int, list[dict]] = defaultdict(list)
    for node in nodes:
        by_id[node["global_id"]].append(node)
    identities = []
    for gid, members in by_id.items():
        members.sort(key=lambda n: (n["start_s"], cameras.index(n["camera"])))
        per_camera: dict[str, list[Sighting]] = {}  # in order of first sighting
        for n in members:
            per_camera.setdefault(n["camera"], []).append(
                Sighting(n["camera"], n["track_id"], n["start_s"], n["end_s"]))
        classes: Counter[int] = Counter()
        for n in members:
            classes[n["class_id"]] += n["n_frames"]
        views = tuple(
            CameraView(cam, tuple(seen), _data_uri(crops.get((gid, cam))),
                       f"{videos[cam]}#t={seen[0].start_s:.1f}" if cam in videos else None)
            for cam, seen in per_camera.items())
        class_id = classes.most_common(1)[0][0]
        identities.append(Identity(gid, CLASS_NAMES.get(class_id, f"class {class_id}"),
                                   _hex(gid), views))
    identities.sort(key=lambda i: (-len(i.views), i.sightings[0].start_s, i.global_id))
    return identities


def _links(identities: list[Identity], topology: dict | None) -> list[CameraLink]:
    """Ordered camera pairs that vehicles travelled or the topology lists."""
    travelled: dict[tuple[str, str], set[int]] = defaultdict(set)
    for identity in identities:
        seen = identity.sightings
        for a, b in itertools.pairwise(seen):
            if a.camera != b.camera:
                travelled[(a.camera, b.camera)].add(identity.global_id)
    windows = {tuple(p["cameras"]): p for p in (topology or {}).get("pairs", [])}
    return [
        CameraLink(a, b, len(travelled.get((a, b), ())),
                   (windows[(a, b)]["min_s"], windows[(a, b)]["max_s"])
                   if (a, b) in windows else None,
                   windows.get((a, b), {}).get("transitions", 0))
        for a, b in sorted(set(travelled) | set(windows))
    ]


def load_view(run_dir: Path, evaluation: dict[str, Any] | None = None) -> RunView:
    """Read the report's content from `run_dir`; `InputError` when it is not a run folder."""
    summary = _read_json(run_dir / "summary.json")
    graph = _read_json(run_dir / "graph.json")
    cameras = tuple(summary["cameras"])
    global_ids = {(n["camera"], n["track_id"]): n["global_id"] for n in graph["nodes"]}
    stored = load_crops(run_dir / CROPS)
    crops = best_per_identity({k: c for k, c in stored.items() if k in global_ids}, global_ids)
    videos = {cam: f"videos/{cam}.mp4" for cam in cameras
              if (run_dir / "videos" / f"{cam}.mp4").is_file()}
    identities = _identities(graph["nodes"], cameras, crops, videos)
    return RunView(
        name=run_dir.resolve().name,
        summary=summary,
        cameras=cameras,
        identities=tuple(identities),
        links=tuple(_links(identities, graph.get("topology"))),
        topology_source=graph.get("topology_source"),
        videos=videos,
        has_crops=bool(stored),
        evaluation=evaluation,
    )
