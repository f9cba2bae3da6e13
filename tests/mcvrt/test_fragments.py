"""Fragments of one vehicle within a camera: which later tracklet continues which earlier one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from mcvrt.association import match_tracklets
from mcvrt.association.fragments import FragmentRules, fragment_pairs
from mcvrt.association.table import Table
from mcvrt.config import MatchingConfig
from mcvrt.types import Tracklet

Factory = Callable[..., Tracklet]
RULES = FragmentRules(max_gap_s=5.0, min_similarity=0.8, max_shift=1.0)


def drive(make: Factory, camera: str, track_id: int, start_s: float, end_s: float,
          look: np.ndarray, speed: float = 40.0, x0: float = 0.0) -> Tracklet:
    """Frames of [start_s, end_s) at 10 fps of a 40x30 box moving `speed` px/s along x,
    at x0 + speed * t (t in seconds since 0): one vehicle's track, or a fragment of it."""
    frames = np.arange(round(start_s * 10), round(end_s * 10))
    x = x0 + speed * frames / 10.0
    boxes = [[v, 100.0, v + 40.0, 130.0] for v in x]
    return make(camera, track_id, frames, look, xyxy=boxes)


def pairs_of(tracklets: list[Tracklet]) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    table = Table.build(tracklets, 5)
    found = fragment_pairs(table, RULES)
    return {(table.keys[i], table.keys[j]) for i, j in zip(found.i, found.j, strict=True)}


def test_a_lost_vehicle_found_again_is_one_vehicle(tracklet_factory: Factory) -> None:
    look, other = np.eye(4)[0], np.eye(4)[1]
    tracklets = [drive(tracklet_factory, "c1", 1, 0.0, 3.0, look),
                 drive(tracklet_factory, "c1", 2, 4.5, 8.0, look),  # lost 1.5 s, same path
                 drive(tracklet_factory, "c1", 3, 4.0, 8.0, other),  # on the path, looks other
                 drive(tracklet_factory, "c1", 4, 4.0, 8.0, look, x0=300.0),  # looks alike, far
                 drive(tracklet_factory, "c1", 5, 4.0, 8.0, look, speed=-40.0, x0=280.0)]
    assert pairs_of(tracklets) == {(("c1", 1), ("c1", 2))}


def test_each_fragment_continues_at_most_one(tracklet_factory: Factory) -> None:
    look = np.eye(4)[0]
    near = look + 0.3 * np.eye(4)[1]  # alike enough, less than the exact look
    tracklets = [drive(tracklet_factory, "c1", 1, 0.0, 3.0, look),
                 drive(tracklet_factory, "c1", 2, 4.0, 6.0, near),
                 drive(tracklet_factory, "c1", 3, 4.0, 6.0, look, x0=5.0)]
    assert pairs_of(tracklets) == {(("c1", 1), ("c1", 3))}


def test_gaps_too_long_and_other_cameras_are_not_fragments(tracklet_factory: Factory) -> None:
    look = np.eye(4)[0]
    tracklets = [drive(tracklet_factory, "c1", 1, 0.0, 3.0, look),
                 drive(tracklet_factory, "c1", 2, 9.0, 12.0, look),  # 6 s later
                 drive(tracklet_factory, "c2", 1, 4.0, 6.0, look)]
    assert pairs_of(tracklets) == set()


def test_fragments_share_a_global_id_and_link_across_cameras_as_one(
        tracklet_factory: Factory) -> None:
    """A vehicle lost in c1 for 1 s; its second fragment is too short to be matched across
    cameras itself (4 frames), but joins its vehicle's identity through the first."""
    look = np.eye(4)[0]
    tracklets = [drive(tracklet_factory, "c1", 1, 0.0, 3.0, look),
                 drive(tracklet_factory, "c1", 2, 4.0, 4.4, look),
                 drive(tracklet_factory, "c2", 7, 20.0, 23.0, look)]
    cfg = MatchingConfig(min_similarity=0.6, link_rounds=0, rerank=False, fragments=False,
                         scorer="cosine")
    ids, _ = match_tracklets(tracklets, cfg)
    assert ids[("c1", 1)] == ids[("c2", 7)] != ids[("c1", 2)]
    ids, graph = match_tracklets(tracklets, replace(cfg, fragments=True))
    assert ids[("c1", 1)] == ids[("c1", 2)] == ids[("c2", 7)]
    assert graph.graph["fragments"] == [[["c1", 1], ["c1", 2]]]


def test_no_tracklets_no_fragments() -> None:
    ids, graph = match_tracklets([], MatchingConfig(min_similarity=0.6, scorer="cosine"))
    assert ids == {} and "fragments" not in graph.graph
