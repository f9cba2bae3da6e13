"""The learned camera-link model: windows and zones from transitions, and matching with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import beta

from mcvrt.association import match_tracklets, transitions
from mcvrt.association.clustering import Clustering
from mcvrt.association.table import Table
from mcvrt.association.topology import LinkLearning, learn_topology, topology_mapping
from mcvrt.config import MatchingConfig
from mcvrt.types import Tracklet

Factory = Callable[..., Tracklet]
RULES = LinkLearning(min_transitions=3, margin_s=1.0, margin=0.1)


def moving(make: Factory, camera: str, track_id: int, start_s: float, x0: float, speed: float,
           look: np.ndarray) -> Tracklet:
    """A 3 s tracklet at 10 fps whose 40x30 box moves `speed` px a frame along x from `x0`."""
    frames = range(round(start_s * 10), round(start_s * 10) + 30)
    boxes = [[x0 + speed * k, 100.0, x0 + speed * k + 40, 130.0] for k in range(30)]
    return make(camera, track_id, frames, look, xyxy=boxes)


def two_cameras(make: Factory, gaps: list[float], wrong_gap: float) -> tuple[Table, np.ndarray,
                                                                            np.ndarray]:
    """Vehicles leave c1 moving right at x ~ 600 and enter c2 moving right at x ~ 0, `gaps`
    seconds later; one wrong pair (last) enters c2 moving left at x ~ 500, `wrong_gap` later."""
    looks = np.eye(len(gaps) + 1)
    tracklets = []
    for v, gap in enumerate([*gaps, wrong_gap]):
        start = 20.0 * v
        wrong = v == len(gaps)
        tracklets += [moving(make, "c1", v + 1, start, 480.0 + v, 4.0, looks[v]),
                      moving(make, "c2", v + 1, start + 2.9 + gap, 500.0 if wrong else v,
                             -4.0 if wrong else 4.0, looks[v])]
    table = Table.build(tracklets, 5)
    index = table.index()
    first = np.array([index[("c1", v + 1)] for v in range(len(gaps) + 1)])
    second = np.array([index[("c2", v + 1)] for v in range(len(gaps) + 1)])
    return table, first, second


def test_learned_link_spans_the_transitions_and_ignores_a_wrong_pair(
        tracklet_factory: Factory) -> None:
    gaps = [4.0, 5.0, 5.5, 6.0, 7.0]
    table, first, second = two_cameras(tracklet_factory, gaps, wrong_gap=30.0)
    topology = learn_topology(table, first, second, RULES)
    assert set(topology) == {("c1", "c2")}
    link = topology[("c1", "c2")]
    assert link.evidence == 5  # the wrong pair is an outlier in gap, entry point and heading
    # the median bound on the range of 5 uniform travel times: R / q, q the median of
    # Beta(4, 2), centred on the sample (frame rounding: 0.15 s)
    pad = (3.0 / beta.ppf(0.5, 4, 2) - 3.0) / 2
    assert link.min_s == pytest.approx(4.0 - 1.0 - pad, abs=0.15)
    assert link.max_s == pytest.approx(7.0 + 1.0 + pad, abs=0.15)
    assert link.exit.heading_deg == pytest.approx(0) == link.entry.heading_deg
    x1, _, x2, _ = link.exit.box
    assert x1 < 480.0 + 20 + 4 * 29 < x2  # where c1 tracklets end (box centre)
    assert link.entry.box[0] < 20.0 < link.entry.box[2] < 500.0


def test_too_few_transitions_make_no_link(tracklet_factory: Factory) -> None:
    table, first, second = two_cameras(tracklet_factory, [4.0, 5.0], wrong_gap=30.0)
    assert learn_topology(table, first[:2], second[:2], RULES) == {}


def test_learned_links_resolve_what_appearance_cannot(tracklet_factory: Factory) -> None:
    """Eight vehicles drive c1 -> c2, 5 s apart. A look-alike of vehicle 1, moving the other way,
    crosses c2 during vehicle 1's c2 sighting: its own best match by appearance. The links
    learned from the other seven (right-moving, 4-7 s) keep it out."""
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(8, 16))
    tracklets = []
    for v in range(8):
        gap = 4.0 + 3.0 * rng.random()
        tracklets += [moving(tracklet_factory, "c1", v + 1, 8.0 * v, 480.0, 4.0, looks[v]),
                      moving(tracklet_factory, "c2", v + 1, 8.0 * v + 2.9 + gap, 0.0, 4.0,
                             looks[v] + rng.normal(scale=0.3, size=16))]
    tracklets.append(moving(tracklet_factory, "c2", 99, 8.0, 500.0, -4.0, looks[0]))
    plain = MatchingConfig(min_similarity=0.6, link_rounds=0, rerank=False, scorer="cosine")
    ids, _ = match_tracklets(tracklets, plain)
    assert ids[("c1", 1)] == ids[("c2", 99)] != ids[("c2", 1)]  # the look-alike wins
    ids, graph = match_tracklets(tracklets, replace(plain, link_rounds=2))
    assert all(ids[("c1", v)] == ids[("c2", v)] for v in range(1, 9))
    assert ids[("c2", 99)] not in {ids[("c1", v)] for v in range(1, 9)}
    assert graph.graph["topology_source"] == "learned"
    (pair,) = graph.graph["topology"]["pairs"]
    assert pair["cameras"] == ["c1", "c2"] and pair["transitions"] == 8
    assert pair["exit"]["heading_deg"] == 0 and pair["entry"]["heading_deg"] == 0
    assert topology_mapping({}) == {"pairs": []}


def test_a_wrong_travel_time_apart_from_the_bulk_is_dropped(tracklet_factory: Factory) -> None:
    """Two wrong pairs at 26 s and 40 s, each alone, against ten at 4-8 s."""
    gaps = [4.0 + 0.4 * v for v in range(10)]
    table, first, second = two_cameras(tracklet_factory, [*gaps, 26.0, 40.0], wrong_gap=30.0)
    link = learn_topology(table, first, second, RULES)[("c1", "c2")]
    assert link.evidence == 10 and link.max_s < 12.0


def test_a_group_of_travel_times_apart_from_the_bulk_stays(tracklet_factory: Factory) -> None:
    """Ten at 16-23 s and four at 29-31 s (the confident pairs missed the times between): the
    window spans both groups."""
    gaps = [16.0 + 0.7 * v for v in range(10)] + [29.0, 29.5, 30.1, 30.7]
    table, first, second = two_cameras(tracklet_factory, gaps, wrong_gap=30.0)
    link = learn_topology(table, first, second, RULES)[("c1", "c2")]
    assert link.evidence == 14 and link.min_s < 16.0 and link.max_s > 30.7


def test_two_wrong_travel_times_together_at_an_end_are_dropped(tracklet_factory: Factory
                                                              ) -> None:
    """Two wrong pairs close together (2 s and 5.8 s) below twenty right ones at 20-30 s: the
    pair of them is a run apart from the rest at the window's lower end, so it goes; a run of
    three or more there would stay (`test_a_group_of_travel_times_apart_from_the_bulk_stays`)."""
    gaps = [20.0 + 0.5 * v for v in range(20)]
    table, first, second = two_cameras(tracklet_factory, [2.0, 5.8, *gaps], wrong_gap=30.0)
    link = learn_topology(table, first, second, RULES)[("c1", "c2")]
    assert link.evidence == 20 and link.min_s > 15.0


def test_learned_boxes_stay_in_the_view(tracklet_factory: Factory) -> None:
    """A margin of a whole view makes the boxes span the view, and no further."""
    table, first, second = two_cameras(tracklet_factory, [4.0, 5.0, 6.0, 7.0], wrong_gap=30.0)
    link = learn_topology(table, first, second, replace(RULES, margin=1.0))[("c1", "c2")]
    for zone, camera in ((link.exit, 0), (link.entry, 1)):
        assert zone.box == (0.0, 0.0, *table.view_wh[camera].tolist())


def test_a_second_lane_is_not_an_outlier(tracklet_factory: Factory) -> None:
    """Vehicles enter c2 on two lanes, at x ~ 0 and x ~ 300: both lanes make the link."""
    looks = np.eye(8)
    tracklets = []
    for v in range(8):
        tracklets += [moving(tracklet_factory, "c1", v + 1, 20.0 * v, 480.0, 4.0, looks[v]),
                      moving(tracklet_factory, "c2", v + 1, 20.0 * v + 8.0,
                             300.0 * (v % 3 == 0) + v, 4.0, looks[v])]
    table = Table.build(tracklets, 5)
    index = table.index()
    first = np.array([index[("c1", v + 1)] for v in range(8)])
    second = np.array([index[("c2", v + 1)] for v in range(8)])
    link = learn_topology(table, first, second, RULES)[("c1", "c2")]
    assert link.evidence == 8
    assert link.entry.box[0] < 20.0 and link.entry.box[2] > 320.0


def test_the_slowest_vehicle_counts_where_it_enters(tracklet_factory: Factory) -> None:
    """Eight vehicles take 4-7 s and enter c2 at x ~ 0; the slowest (8 s) enters at x ~ 300,
    heading the same way, apart from all the others: the window still reaches it."""
    looks = np.eye(9)
    tracklets = []
    for v, gap in enumerate([4.0, 4.4, 4.8, 5.2, 5.6, 6.0, 6.4, 7.0, 8.0]):
        tracklets += [moving(tracklet_factory, "c1", v + 1, 20.0 * v, 480.0, 4.0, looks[v]),
                      moving(tracklet_factory, "c2", v + 1, 20.0 * v + 2.9 + gap,
                             300.0 if v == 8 else float(v), 4.0, looks[v])]
    table = Table.build(tracklets, 5)
    index = table.index()
    first = np.array([index[("c1", v + 1)] for v in range(9)])
    second = np.array([index[("c2", v + 1)] for v in range(9)])
    link = learn_topology(table, first, second, RULES)[("c1", "c2")]
    assert link.evidence == 9 and link.max_s >= 8.0


@pytest.mark.parametrize(("seed_confidence", "found"), [(0.5, False), (0.75, True)])
def test_the_first_round_finds_a_transition_just_outside_the_confident_pairs(
        tracklet_factory: Factory, seed_confidence: float, found: bool) -> None:
    """Three look-alike pairs 4-5 s apart make the first windows: at 0.5 they reach 5.75 s, at
    0.75 6.25 s (margin 0.25 s). A fourth vehicle, less alike (not a confident pair), takes 6.1 s:
    only the wider first round links it, and the final window then covers it."""
    looks = np.eye(5)
    tracklets = []
    for v, gap in enumerate([4.0, 4.5, 5.0, 6.1]):
        seen = looks[v] + (0.88 * looks[4] if v == 3 else 0.0)  # cosine 0.75 for the fourth
        tracklets += [moving(tracklet_factory, "c1", v + 1, 20.0 * v, 480.0, 4.0, looks[v]),
                      moving(tracklet_factory, "c2", v + 1, 20.0 * v + 2.9 + gap, 0.0, 4.0,
                             seen)]
    cfg = MatchingConfig(min_similarity=0.6, rerank=False, scorer="cosine", fragments=False,
                         link_seed_confidence=seed_confidence)
    ids, graph = match_tracklets(tracklets, cfg)
    assert all(ids[("c1", v)] == ids[("c2", v)] for v in range(1, 4))
    assert (ids[("c1", 4)] == ids[("c2", 4)]) is found
    (pair,) = graph.graph["topology"]["pairs"]
    assert (pair["max_s"] >= 6.1) is found


def _transitions(table: Table, labels: np.ndarray) -> list[tuple[int, int]]:
    first, second = transitions(table, Clustering(labels, np.zeros(0, bool)))
    return list(zip(first.tolist(), second.tolist(), strict=True))


def _by_definition(table: Table, labels: np.ndarray) -> set[tuple[int, int]]:
    """`transitions` spelled out: rows a, b of one identity and two cameras, a listed first (the
    table's start order), with no row of a's camera ending after a and by b's start and no row
    of b's camera starting from a's end and before b."""
    found = set()
    for a in range(len(table)):
        for b in range(a + 1, len(table)):
            same = labels == labels[a]
            if labels[b] != labels[a] or table.cameras[a] == table.cameras[b]:
                continue
            later_exit = (same & (table.cameras == table.cameras[a]) & (table.ends > table.ends[a])
                          & (table.ends <= table.starts[b]))
            earlier_entry = (same & (table.cameras == table.cameras[b])
                             & (table.starts >= table.ends[a]) & (table.starts < table.starts[b]))
            if not later_exit.any() and not earlier_entry.any():
                found.add((a, b))
    return found


def test_transitions_skip_fragments_that_stretch_the_travel_time(
        tracklet_factory: Factory) -> None:
    tracklets = [tracklet_factory("c1", 1, range(0, 20)), tracklet_factory("c1", 2, range(30, 50)),
                 tracklet_factory("c2", 1, range(80, 100)),
                 tracklet_factory("c2", 2, range(120, 140))]
    table = Table.build(tracklets, 5)
    index = table.index()
    assert _transitions(table, np.ones(len(table), np.int64)) == [(index[("c1", 2)],
                                                                   index[("c2", 1)])]


@pytest.mark.parametrize("seed", range(5))
def test_transitions_follow_their_definition(tracklet_factory: Factory, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracklets = []
    for k in range(60):
        start = int(rng.integers(0, 400))
        tracklets.append(tracklet_factory(f"c{rng.integers(1, 4)}", k,
                                          range(start, start + int(rng.integers(5, 40)))))
    table = Table.build(tracklets, 5)
    labels = rng.integers(1, 6, len(table))
    found = _transitions(table, labels)
    assert found and len(found) == len(set(found))
    assert set(found) == _by_definition(table, labels)
