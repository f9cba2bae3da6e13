from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from mcvrt.association import Links, graph_to_dict, load_topology, match_tracklets
from mcvrt.association.candidates import Gate
from mcvrt.association.scoring import (
    MIN_CENTRED_ROWS,
    SCORERS,
    CosineScorer,
    camera_centred,
    register_scorer,
)
from mcvrt.association.table import Table, seconds_to_border
from mcvrt.association.topology import Link, Zone, topology_mapping
from mcvrt.config import MatchingConfig
from mcvrt.errors import InputError
from mcvrt.types import Tracklet
from reid.errors import ConfigError

Factory = Callable[..., Tracklet]
# the plain matcher: cosine scores, no learned camera links, no fragments; max_transition_s 120,
# min_tracklet_frames 5
# travel times between the tracklets' own ends (view_lead_s 0): the gaps the tests write down
CFG = MatchingConfig(min_similarity=0.6, link_rounds=0, rerank=False, fragments=False,
                     scorer="cosine", view_lead_s=0.0)
LEAD = 2.0  # matching.view_lead_s where tracklet ends are carried to the view border


def planted(make: Factory, vehicles: int = 6, seed: int = 0) -> list[Tracklet]:
    """Each vehicle crosses c1, then c2 20 s later, then c3 40 s later; noisy embeddings.

    In every camera consecutive vehicles overlap in time (vehicle v is seen 5v .. 5v+8 s).
    The track id in each camera is v + 1 in c1, v + 11 in c2 and v + 21 in c3.
    """
    rng = np.random.default_rng(seed)
    identities = rng.normal(size=(vehicles, 32))
    tracklets = []
    for v, (camera, delay) in itertools.product(range(vehicles), [("c1", 0), ("c2", 20),
                                                                   ("c3", 40)]):
        start = (5 * v + delay) * 10  # frames at 10 fps
        noisy = identities[v] / np.linalg.norm(identities[v]) + rng.normal(scale=0.05, size=32)
        tracklets.append(make(camera, v + 1 + int(camera[1:]) * 10 - 10,
                              range(start, start + 81), noisy))
    return tracklets


def test_planted_identities_across_three_cameras_are_recovered(tracklet_factory: Factory):
    global_ids, graph = match_tracklets(planted(tracklet_factory), CFG)
    assert global_ids == {
        (camera, v + offset): v + 1
        for v in range(6) for camera, offset in [("c1", 1), ("c2", 11), ("c3", 21)]
    }
    merged = [(u, v) for u, v, m in graph.edges(data="merged") if m]
    assert len(merged) == 12  # two merges per vehicle
    assert all(graph.nodes[key]["global_id"] == gid for key, gid in global_ids.items())


@pytest.mark.parametrize("seed", range(3))
def test_result_does_not_depend_on_input_order(tracklet_factory: Factory, seed: int) -> None:
    tracklets = planted(tracklet_factory)
    expected_ids, expected_graph = match_tracklets(tracklets, CFG)
    shuffled = tracklets[:]
    random.Random(seed).shuffle(shuffled)
    ids, graph = match_tracklets(shuffled, CFG)
    assert ids == expected_ids
    assert graph_to_dict(graph) == graph_to_dict(expected_graph)


def test_same_camera_overlapping_never_merged(tracklet_factory: Factory) -> None:
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20)),  # 0.0 - 1.9 s
        tracklet_factory("c1", 2, range(5, 25)),  # 0.5 - 2.4 s, same look, same time
        tracklet_factory("c2", 1, range(40, 60)),
    ]
    global_ids, graph = match_tracklets(tracklets, CFG)
    # both c1 tracklets have an equal edge to c2/1; the tie goes to the smaller key
    assert global_ids == {("c1", 1): 1, ("c2", 1): 1, ("c1", 2): 2}
    assert graph.edges[("c1", 1), ("c2", 1)]["merged"] is True
    assert graph.edges[("c1", 2), ("c2", 1)]["merged"] is False


def test_same_camera_may_see_a_vehicle_again_later(tracklet_factory: Factory) -> None:
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20)),
        tracklet_factory("c2", 1, range(40, 60)),
        tracklet_factory("c1", 2, range(100, 120)),
    ]
    global_ids, _ = match_tracklets(tracklets, CFG)
    assert global_ids == {("c1", 1): 1, ("c2", 1): 1, ("c1", 2): 1}


def test_chaining_through_a_shared_neighbour_is_prevented_by_cannot_link(
    tracklet_factory: Factory,
) -> None:
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20), (1.0, 0.0)),
        tracklet_factory("c2", 1, range(10, 30), (1.0, 1.0)),  # 0.707 to both c1 tracklets
        tracklet_factory("c1", 2, range(10, 30), (0.0, 1.0)),  # overlaps c1/1
    ]
    global_ids, graph = match_tracklets(tracklets, CFG)
    assert graph.number_of_edges() == 2
    assert global_ids == {("c1", 1): 1, ("c2", 1): 1, ("c1", 2): 2}


def test_chaining_is_prevented_by_average_linkage(tracklet_factory: Factory) -> None:
    theta = np.arccos(0.8)
    tracklets = [  # a . b = 0.8, b . c = 0.75, a . c = cos(theta + arccos 0.75) = 0.2
        tracklet_factory("c1", 1, range(0, 20), (1.0, 0.0)),
        tracklet_factory("c2", 1, range(30, 50), (np.cos(theta), np.sin(theta))),
        tracklet_factory("c3", 1, range(60, 80), (np.cos(theta + np.arccos(0.75)),
                                                  np.sin(theta + np.arccos(0.75)))),
    ]
    global_ids, graph = match_tracklets(tracklets, CFG)
    assert sorted(graph.edges) == [(("c1", 1), ("c2", 1)), (("c2", 1), ("c3", 1))]
    # merging {a, b} with c: mean(0.2, 0.75) = 0.475 < 0.6
    assert global_ids == {("c1", 1): 1, ("c2", 1): 1, ("c3", 1): 2}
    loose, _ = match_tracklets(tracklets, replace(CFG, min_similarity=0.45))
    assert set(loose.values()) == {1}


def test_pairs_beyond_max_transition_are_never_linked(tracklet_factory: Factory) -> None:
    cfg = replace(CFG, min_similarity=0.85, max_transition_s=10.0)
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20)),  # ends 1.9 s
        tracklet_factory("c2", 1, range(130, 150)),  # starts 13.0 s: gap 11.1 s
        tracklet_factory("c3", 1, range(10, 30)),  # overlaps c1/1 (10.1 s to c2/1)
    ]
    global_ids, graph = match_tracklets(tracklets, cfg)
    assert sorted(graph.edges) == [(("c1", 1), ("c3", 1))]
    assert graph.edges[("c1", 1), ("c3", 1)]["time_gap_s"] == pytest.approx(-0.9)
    assert global_ids == {("c1", 1): 1, ("c3", 1): 1, ("c2", 1): 2}


def write_topology(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    return path


def test_topology_windows_decide_which_pairs_link(tracklet_factory: Factory, tmp_path) -> None:
    topology = write_topology(tmp_path, "pairs:\n  - {cameras: [c2, c1], min_s: 5, max_s: 300}\n")
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20)),  # ends 1.9 s
        tracklet_factory("c2", 1, range(30, 50)),  # gap 1.1 s: too soon
        tracklet_factory("c2", 2, range(2000, 2020)),  # gap 198.1 s: beyond 120 s, in window
        tracklet_factory("c3", 1, range(100, 120)),  # c1-c3 not listed
    ]
    global_ids, graph = match_tracklets(tracklets, replace(CFG, min_similarity=0.85,
                                                          topology=topology))
    assert sorted(graph.edges) == [(("c1", 1), ("c2", 2))]
    assert global_ids == {("c1", 1): 1, ("c2", 2): 1, ("c2", 1): 2, ("c3", 1): 3}


OVERLAP = Link(-5.0, 0.0)
# c1/1 ends at (29, 25) moving right (+x, heading 0); a c2 tracklet begins at (f + 20, 25)
EXIT_RIGHT = Zone((20.0, 0.0, 60.0, 50.0), 0.0, 45.0)


@pytest.mark.parametrize(
    "frames_b, camera_b, topology, default, expected",
    [
        (range(100, 110), "c2", None, False, True),  # gap 8.1 s
        (range(1300, 1310), "c2", None, False, False),  # gap 128.1 s
        (range(5, 15), "c1", None, False, False),  # same camera
        (range(5, 15), "c2", {("c1", "c2"): OVERLAP}, False, True),  # -0.4 s in window
        (range(100, 110), "c2", {("c1", "c2"): OVERLAP}, False, False),
        (range(100, 110), "c2", {("c2", "c1"): Link(0, 60)}, False, False),  # other way only
        (range(100, 110), "c2", {("c1", "c3"): Link(0, 60)}, False, False),  # pair not listed
        (range(100, 110), "c2", {("c1", "c3"): Link(0, 60)}, True, True),  # ... default
        (range(100, 110), "c2", {("c1", "c2"): Link(0, 60, EXIT_RIGHT)}, False, True),
        (range(100, 110), "c2", {("c1", "c2"): Link(0, 60, replace(EXIT_RIGHT, heading_deg=180))},
         False, False),  # moving the other way
        (range(100, 110), "c2", {("c1", "c2"): Link(0, 60, None, Zone((0, 0, 100, 50)))},
         False, False),  # entering elsewhere: at x = 120
    ],
    ids=["in-range", "too-late", "same-camera", "in-window", "out-of-window", "one-way",
         "unlisted", "unlisted-default", "exit-zone", "exit-heading", "entry-zone"],
)
def test_gate(tracklet_factory: Factory, frames_b, camera_b, topology, default,
              expected) -> None:
    table = Table.build([tracklet_factory("c1", 1, range(0, 10)),
                         tracklet_factory(camera_b, 2, frames_b)], 1)
    gate = Gate.build(table.camera_ids, CFG.max_transition_s, topology, default)
    assert gate.allows(table, np.array([0]), np.array([1])).tolist() == [expected]


@pytest.mark.parametrize(
    "xy, velocity, seconds",
    [
        ((90, 25), (10, 0), 1.0),  # right border x = 100
        ((30, 25), (-40, 0), 0.75),  # left border x = 0
        ((50, 40), (10, 20), 0.5),  # the bottom (y = 50) first
        ((50, 5), (0, -10), 0.5),  # no motion along x
        ((20, 25), (10, 0), LEAD),  # 8 s: at most the cap
        ((120, 25), (10, 0), 0.0),  # outside already
        ((50, 25), (np.nan, np.nan), 0.0),  # motion unknown
    ],
)
def test_seconds_to_border(xy, velocity, seconds) -> None:
    found = seconds_to_border(np.array([xy], float), np.array([velocity], float),
                              np.array([[100.0, 50.0]]), LEAD)
    assert found.tolist() == pytest.approx([seconds])


def test_view_times_carry_each_end_to_the_border(tracklet_factory: Factory) -> None:
    """At 40 px/s a box centre 20 px from the border is 0.5 s from it; a standing tracklet is
    carried nowhere, a slow one (5 px/s, 4 s from the border) at most 2 s."""
    def boxes(speed: float) -> list[list[float]]:  # px a frame from x = 0; the view ends at x2
        return [[speed * k, 10.0, speed * k + 40.0, 40.0] for k in range(30)]

    table = Table.build([tracklet_factory("c1", 1, range(10, 40), xyxy=boxes(4.0)),  # 1 .. 3.9 s
                         tracklet_factory("c2", 1, range(10, 40), xyxy=boxes(0.0)),
                         tracklet_factory("c3", 1, range(10, 40), xyxy=boxes(0.5))], 1, LEAD)
    assert table.view_entry_s.tolist() == pytest.approx([0.5, 1.0, 1.0 - LEAD])
    assert table.view_exit_s.tolist() == pytest.approx([4.4, 3.9, 3.9 + LEAD])


@pytest.mark.parametrize(("speed", "allowed"), [(4.0, True), (0.0, False)])
def test_the_gate_compares_estimated_travel_times(tracklet_factory: Factory, speed: float,
                                                  allowed: bool) -> None:
    """Moving right 40 px/s, c1/1 ends and c2/1 begins 0.5 s from the border: their gap of
    1.8 s is a travel time of 0.8 s, inside the window 0..1 s; standing still it stays 1.8 s."""
    boxes = [[speed * k, 10.0, speed * k + 40.0, 40.0] for k in range(30)]
    table = Table.build([tracklet_factory("c1", 1, range(0, 30), xyxy=boxes),  # ends 2.9 s
                         tracklet_factory("c2", 1, range(47, 77), xyxy=boxes)], 1, LEAD)  # 4.7 s
    gate = Gate.build(table.camera_ids, 120.0, {("c1", "c2"): Link(0.0, 1.0)})
    assert gate.allows(table, np.array([0]), np.array([1])).tolist() == [allowed]


def test_time_gap_is_negative_overlap(tracklet_factory: Factory) -> None:
    table = Table.build([tracklet_factory("c1", 1, range(0, 50)),  # 0 .. 4.9 s
                         tracklet_factory("c2", 1, range(10, 20))], 1)  # 1 .. 1.9 s
    assert table.time_gaps(np.array([0, 1]), np.array([1, 0])) == pytest.approx([-0.9, -0.9])


def test_short_and_unembedded_tracklets_keep_their_own_id(tracklet_factory: Factory) -> None:
    tracklets = [
        tracklet_factory("c1", 1, range(0, 20)),
        tracklet_factory("c2", 1, range(30, 34)),  # 4 frames < 5
        tracklet_factory("c3", 1, range(30, 50), (0.0, 0.0)),  # no appearance evidence
    ]
    global_ids, graph = match_tracklets(tracklets, CFG)
    assert graph.number_of_edges() == 0
    assert global_ids == {("c1", 1): 1, ("c2", 1): 2, ("c3", 1): 3}
    assert graph.nodes[("c3", 1)]["has_embedding"] is False


def test_blocking_finds_exactly_the_brute_force_edges(tracklet_factory: Factory) -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(40, 8))
    tracklets = [  # 1200 tracklets over ~10 min, so blocks of 512 rows see several windows
        tracklet_factory(f"c{i % 4}", i, range(start, start + int(rng.integers(5, 300))),
                         base[i % 40] + rng.normal(scale=0.3, size=8))
        for i, start in enumerate(sorted(rng.integers(0, 6000, size=1200)))
    ]
    cfg = replace(CFG, max_transition_s=30.0, view_lead_s=LEAD)
    _, graph = match_tracklets(tracklets, cfg)
    # boxes move right 10 px/s: most ends are carried 2 s to the view border, so a later row
    # may start up to 2 s after its estimated entry (what the blocks must reach past)
    table = Table.build(tracklets, cfg.min_tracklet_frames, cfg.view_lead_s)
    entry = dict(zip(table.keys, table.view_entry_s, strict=True))
    exit_ = dict(zip(table.keys, table.view_exit_s, strict=True))
    embeddings = np.stack([t.embedding for t in tracklets])
    close = np.triu(embeddings @ embeddings.T >= cfg.min_similarity, k=1)
    similar = [(tracklets[i], tracklets[j]) for i, j in zip(*np.nonzero(close), strict=True)]
    expected = {
        tuple(sorted((a.key, b.key))) for a, b in similar
        if a.camera_id != b.camera_id
        and max(entry[a.key], entry[b.key]) - min(exit_[a.key], exit_[b.key])
        <= cfg.max_transition_s
    }
    observed = {
        tuple(sorted((a.key, b.key))) for a, b in similar
        if a.camera_id != b.camera_id
        and max(a.start_s, b.start_s) - min(a.end_s, b.end_s) <= cfg.max_transition_s
    }
    assert table.max_entry_lead_s == pytest.approx(LEAD)
    assert len(expected) > len(observed) > 1000
    assert {tuple(sorted(e)) for e in graph.edges} == expected


def test_graph_to_dict_exact(tracklet_factory: Factory) -> None:
    tracklets = [tracklet_factory("c1", 1, range(0, 20)),
                 tracklet_factory("c2", 4, range(25, 45), class_id=7)]
    _, graph = match_tracklets(tracklets, CFG)
    node = {"n_frames": 20, "has_embedding": True, "global_id": 1}
    assert graph_to_dict(graph) == {
        "nodes": [
            {"camera": "c1", "track_id": 1, "start_s": 0.0, "end_s": 1.9, "class_id": 2, **node},
            {"camera": "c2", "track_id": 4, "start_s": 2.5, "end_s": 4.4, "class_id": 7, **node},
        ],
        "edges": [{"a": ["c1", 1], "b": ["c2", 4], "similarity": 1.0, "time_gap_s": 0.6,
                   "merged": True}],
        "clusters": [{"global_id": 1, "members": [["c1", 1], ["c2", 4]]}],
    }


def test_duplicate_tracklet_keys_are_rejected(tracklet_factory: Factory) -> None:
    with pytest.raises(ValueError, match="duplicate tracklet key"):
        match_tracklets([tracklet_factory("c1", 1), tracklet_factory("c1", 1)], CFG)


def test_a_registered_scorer_replaces_the_cosine(tracklet_factory: Factory,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A scorer that ignores appearance links every time-compatible pair it scores high."""

    class Constant:
        def __init__(self, table: Table, compare: object) -> None:
            self.n = len(table)

        def __call__(self, rows: np.ndarray | slice, cols: np.ndarray | slice) -> np.ndarray:
            return np.full((len(np.arange(self.n)[rows]), len(np.arange(self.n)[cols])), 0.99)

    monkeypatch.setitem(SCORERS, "constant", Constant)  # undone after the test
    assert register_scorer("cosine")(CosineScorer) is CosineScorer
    tracklets = [tracklet_factory("c1", 1, range(0, 20), (1.0, 0.0)),
                 tracklet_factory("c2", 1, range(30, 50), (0.0, 1.0))]
    assert set(match_tracklets(tracklets, CFG)[0].values()) == {1, 2}
    ids, graph = match_tracklets(tracklets, replace(CFG, scorer="constant"))
    assert set(ids.values()) == {1}
    assert graph.edges[("c1", 1), ("c2", 1)]["similarity"] == pytest.approx(0.99)


def test_the_threshold_follows_the_embedder_unless_set(tracklet_factory: Factory) -> None:
    assert MatchingConfig().threshold("color-histogram") == 0.6  # re-ranked scores
    assert MatchingConfig(rerank=False).threshold("color-histogram") == 0.85
    assert MatchingConfig(rerank=False).resolved("alsa").min_similarity == 0.75
    assert MatchingConfig(min_similarity=0.6).threshold("alsa") == 0.6
    with pytest.raises(ValueError, match=r"min_similarity or matching\.scorer is unset"):
        match_tracklets([tracklet_factory("c1", 1)], MatchingConfig())


def test_the_scorer_follows_the_embedder_unless_set(tracklet_factory: Factory) -> None:
    assert MatchingConfig().resolved("color-histogram").scorer == "cosine"
    assert MatchingConfig().resolved("alsa").scorer == "centred-cosine"
    assert MatchingConfig(scorer="cosine").resolved("alsa").scorer == "cosine"
    with pytest.raises(ValueError, match=r"matching\.scorer is unset"):
        match_tracklets([tracklet_factory("c1", 1)], MatchingConfig(min_similarity=0.6))


def test_unknown_scorer_is_a_config_error(tracklet_factory: Factory) -> None:
    with pytest.raises(ConfigError, match=r"matching\.scorer: unknown scorer 'nope' \(known: "):
        match_tracklets([tracklet_factory("c1", 1)], replace(CFG, scorer="nope"))


def test_load_topology_values(tmp_path: Path) -> None:
    path = write_topology(tmp_path, "pairs:\n"
                                    "  - {cameras: [a, b], min_s: -2, max_s: 60}\n"
                                    "  - {cameras: [b, c], min_s: 5.5, max_s: 9, one_way: true}\n"
                                    "  - cameras: [c, b]\n"
                                    "    min_s: 1\n"
                                    "    max_s: 4\n"
                                    "    transitions: 7\n"
                                    "    exit: {box: [0, 0, 10, 20], heading_deg: -90}\n"
                                    "    entry: {box: [5, 5, 15, 25], tolerance_deg: 30}\n")
    assert load_topology(path) == {
        ("a", "b"): Link(-2.0, 60.0), ("b", "a"): Link(-2.0, 60.0), ("b", "c"): Link(5.5, 9.0),
        ("c", "b"): Link(1.0, 4.0, Zone((0.0, 0.0, 10.0, 20.0), -90.0, 45.0),
                         Zone((5.0, 5.0, 15.0, 25.0), None, 30.0), evidence=7)}


def test_topology_mapping_reads_back(tmp_path: Path) -> None:
    topology = {("a", "b"): Link(-2.04, 60.01, Zone((1.5, 2.0, 30.2, 40.0), -91.4, 35.2),
                                 Zone((0.0, 0.0, 8.0, 9.0)), evidence=12),
                ("b", "a"): Link(3.0, 4.0)}
    path = write_topology(tmp_path, yaml.safe_dump(topology_mapping(topology)))
    assert load_topology(path) == {  # windows widened to 0.1 s, boxes to whole pixels
        ("a", "b"): Link(-2.1, 60.1, Zone((1.0, 2.0, 31.0, 40.0), -91.0, 35.0),
                         Zone((0.0, 0.0, 8.0, 9.0)), evidence=12),
        ("b", "a"): Link(3.0, 4.0)}


@pytest.mark.parametrize(
    "text, message",
    [
        ("pairs: [\n", r"not valid YAML"),
        ("- a\n", r"a mapping with one key 'pairs'"),
        ("pairs:\n", r"a mapping with one key 'pairs'"),
        ("pairs: [{cameras: [a, b], min_s: 1, max_s: 2}]\nextra: 1\n", r"one key 'pairs'"),
        ("pairs: [{cameras: [a, b], min_s: 1}]\n", r"pairs\[0\]: expected the keys"),
        ("pairs: [{cameras: [a, b], min_s: 1, max_s: 2, exit: {box: [0, 0, 1, 1]},\n"
         "          one_way: false}]\n", r"pairs\[0\]: one_way must be true or false"),
        ("pairs: [{cameras: [a, b], min_s: 1, max_s: 2, exit: {box: [0, 0, 0, 1]}}]\n",
         r"pairs\[0\]: exit: box must be"),
        ("pairs: [{cameras: [a, b], min_s: 1, max_s: 2, entry: {box: [0, 0, 1, 1],\n"
         "          tolerance_deg: 0}}]\n", r"pairs\[0\]: entry: heading_deg must be"),
        ("pairs: [{cameras: [a, b], min_s: 1, max_s: 2, transitions: -1}]\n",
         r"pairs\[0\]: transitions must be"),
        ("pairs: [{cameras: [a], min_s: 1, max_s: 2}]\n", r"pairs\[0\]: cameras must be"),
        ("pairs: [{cameras: [a, a], min_s: 1, max_s: 2}]\n", r"two different camera ids"),
        ("pairs: [{cameras: [a, b], min_s: x, max_s: 2}]\n", r"pairs\[0\]: min_s and max_s"),
        ("pairs: [{cameras: [a, b], min_s: 3, max_s: 2}]\n", r"min_s <= max_s"),
        ("pairs:\n  - {cameras: [a, b], min_s: 1, max_s: 2}\n"
         "  - {cameras: [b, a], min_s: 1, max_s: 2}\n", r"pairs\[1\]: .* listed twice"),
    ],
    ids=["bad-yaml", "not-mapping", "no-list", "extra-key", "missing-key", "zones-two-way",
         "empty-box", "zero-tolerance", "negative-transitions", "one-camera",
         "same-camera", "not-number", "min-above-max", "duplicate"],
)
def test_load_topology_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = write_topology(tmp_path, text)
    with pytest.raises(InputError, match=message) as raised:
        load_topology(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_load_topology_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read topology file: .*nope\.yaml"):
        load_topology(tmp_path / "nope.yaml")


def test_must_link_joins_tracklets_that_look_different(tracklet_factory: Factory) -> None:
    tracklets = [tracklet_factory("c1", 1, range(0, 20), (1.0, 0.0)),
                 tracklet_factory("c2", 1, range(30, 50), (0.0, 1.0)),
                 tracklet_factory("c3", 1, range(60, 64), (0.0, 1.0))]  # too short for edges
    assert set(match_tracklets(tracklets, CFG)[0].values()) == {1, 2, 3}
    links = Links(must=((("c1", 1), ("c2", 1)), (("c3", 1), ("c2", 1))))
    ids, graph = match_tracklets(tracklets, CFG, links=links)
    assert set(ids.values()) == {1}
    assert graph_to_dict(graph)["links"] == {"must": [[["c1", 1], ["c2", 1]],
                                                      [["c3", 1], ["c2", 1]]], "cannot": []}


def test_cannot_link_separates_tracklets_that_look_alike(tracklet_factory: Factory) -> None:
    global_ids, _ = match_tracklets(planted(tracklet_factory), CFG)
    assert global_ids[("c1", 1)] == global_ids[("c2", 11)] == global_ids[("c3", 21)]
    links = Links(cannot=((("c1", 1), ("c3", 21)),))
    ids, graph = match_tracklets(planted(tracklet_factory), CFG, links=links)
    assert ids[("c1", 1)] == ids[("c2", 11)] != ids[("c3", 21)]  # c2-c3 scores lower
    assert "links" in graph_to_dict(graph) and "links" not in graph_to_dict(
        match_tracklets(planted(tracklet_factory), CFG)[1])


@pytest.mark.parametrize(
    "links, message",
    [
        (Links(must=((("c1", 1), ("c9", 1)),)), r"must-link: no tracklet c9:1 in this run"),
        (Links(cannot=((("c1", 1), ("c1", 1)),)), r"cannot-link: c1:1 is linked to itself"),
        (Links(must=((("c1", 1), ("c2", 1)), (("c2", 1), ("c3", 1))),
               cannot=((("c3", 1), ("c1", 1)),)),
         r"cannot-link c3:1=c1:1 contradicts the must-links"),
    ],
    ids=["unknown-tracklet", "self-link", "contradiction"],
)
def test_bad_links_are_input_errors(tracklet_factory: Factory, links: Links, message: str) -> None:
    tracklets = [tracklet_factory(f"c{i}", 1, range(30 * i, 30 * i + 20)) for i in (1, 2, 3)]
    with pytest.raises(InputError, match=message):
        match_tracklets(tracklets, CFG, links=links)


def biased(make: Factory, vehicles: int, bias: float, seed: int = 0) -> list[Tracklet]:
    """Each vehicle crosses c1, then c2 20 s later (one at a time); every camera adds its own
    offset, `bias` times a vehicle's own look, to all its embeddings (a night or fog camera)."""
    rng = np.random.default_rng(seed)
    looks = rng.normal(size=(vehicles, 32))
    offsets = {"c1": rng.normal(size=32), "c2": rng.normal(size=32)}
    return [make(camera, v + 1, range((10 * v + delay) * 10, (10 * v + delay) * 10 + 50),
                 looks[v] / np.linalg.norm(looks[v])
                 + bias * offsets[camera] / np.linalg.norm(offsets[camera])
                 + rng.normal(scale=0.05, size=32))
            for v in range(vehicles) for camera, delay in (("c1", 0), ("c2", 20))]


def test_centred_cosine_links_across_a_camera_offset_the_plain_one_misses(
        tracklet_factory: Factory) -> None:
    tracklets = biased(tracklet_factory, MIN_CENTRED_ROWS + 2, bias=2.0)
    plain, _ = match_tracklets(tracklets, CFG)
    centred, _ = match_tracklets(tracklets, replace(CFG, scorer="centred-cosine"))
    assert len(set(plain.values())) == len(tracklets)  # the offsets hide every pair
    assert all(centred[("c1", v)] == centred[("c2", v)] for v in range(1, 13))
    assert len(set(centred.values())) == MIN_CENTRED_ROWS + 2


def test_camera_centred_rows(tracklet_factory: Factory) -> None:
    """Usable rows of a camera with enough of them lose the offset all share (different
    vehicles of one camera no longer look alike) and stay unit length; the rest is kept."""
    tracklets = biased(tracklet_factory, MIN_CENTRED_ROWS, bias=2.0)
    few = [tracklet_factory("c3", v, range(100 * v, 100 * v + 20), (1.0, float(v)) + (0.0,) * 30)
           for v in range(MIN_CENTRED_ROWS - 1)]
    short = tracklet_factory("c1", 99, range(3), (0.0, 1.0) + (0.0,) * 30)  # not usable
    table = Table.build([*tracklets, *few, short], min_frames=5)
    centred = camera_centred(table)
    others = ~np.eye(MIN_CENTRED_ROWS, dtype=bool)
    for camera in ("c1", "c2"):
        rows = np.flatnonzero(table.usable & (table.cameras == table.camera_ids.index(camera)))
        before, after = (e[rows] @ e[rows].T for e in (table.embeddings, centred))
        assert before[others].mean() > 0.6
        assert abs(after[others].mean()) < 0.2
        assert np.allclose(np.diag(after), 1.0, atol=1e-5)
    kept = (table.cameras == table.camera_ids.index("c3")) | ~table.usable
    assert kept.sum() == MIN_CENTRED_ROWS
    assert np.array_equal(centred[kept], table.embeddings[kept])
