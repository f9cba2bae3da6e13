"""`--reid auto`: condition-routed experts, the tracklets' condition in tracks.csv / graph.json."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcvrt.appearance import (
    CONDITION_WEIGHT,
    HARDNESS,
    HarderCondition,
    RoutedEmbedder,
    camera_levels,
    describe_tracklet,
    embed_detections,
    load_compare,
    load_embed,
    wants_foggy_crops,
)
from mcvrt.association import match_tracklets
from mcvrt.association.table import Table
from mcvrt.conditions import CONDITIONS, CROP_THRESHOLDS, classify
from mcvrt.config import AUTO, AppearanceConfig, MatchingConfig
from mcvrt.errors import InputError
from mcvrt.export import write_tracks_csv
from mcvrt.types import Detections, Tracklet

RNG = np.random.default_rng(0)
CLEAR = RNG.integers(0, 256, (60, 40, 3), dtype=np.uint8)  # full range: black level ~0
DARK = (CLEAR // 8).astype(np.uint8)  # median luma ~16 / 255
FOG = (150 + CLEAR // 3).astype(np.uint8)  # airlight lifts the black level to 150


class Constant:
    """A fake expert: every crop -> the same unit vector."""

    def __init__(self, vector: Sequence[float]) -> None:
        self.vector = np.asarray(vector, np.float32)
        self.dim = len(self.vector)

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return np.tile(self.vector, (len(crops), 1))


ROUTE = {"day": "alsa", "night": "alsa", "fog": "sjdl"}


@pytest.fixture
def routed() -> RoutedEmbedder:
    return RoutedEmbedder({"alsa": Constant([1, 0]), "sjdl": Constant([0, 0, 1])}, ROUTE)


def table_of(tracklet_factory: Callable[..., Tracklet], conditions: Sequence[str],
             cameras: Sequence[str] | None = None) -> Table:
    """A table of one tracklet per condition, in that order, with that condition in `extra`;
    each on its own camera unless `cameras` says."""
    cameras = [f"c{i}" for i in range(len(conditions))] if cameras is None else cameras
    return Table.build([replace(tracklet_factory(camera, i, [10 * i]), extra={"condition": c})
                        for i, (c, camera) in enumerate(zip(conditions, cameras, strict=True))],
                       1)


def test_estimator_on_constructed_crops() -> None:
    assert [classify(c, CROP_THRESHOLDS) for c in (CLEAR, DARK, FOG)] == ["day", "night", "fog"]


def test_crops_get_their_condition_and_every_experts_embedding(routed: RoutedEmbedder) -> None:
    out = routed([DARK, FOG, CLEAR])
    described = [routed.describe(row) for row in out]
    assert [extra for extra, _ in described] == [
        {"condition": "night"}, {"condition": "fog"}, {"condition": "day"}]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    # the tracker compares crops by the mean of the experts' cosines
    assert out[0] @ out[1] == pytest.approx(1 - CONDITION_WEIGHT**2)
    # tracklets: every expert's block, unit, over sqrt 2 (whatever the condition)
    half = 1 / np.sqrt(2)
    np.testing.assert_allclose(described[0][1], [half, 0, 0, 0, half], rtol=1e-6)
    np.testing.assert_allclose(described[1][1], described[0][1], rtol=1e-6)


def test_the_frames_condition_labels_every_crop(routed: RoutedEmbedder) -> None:
    # a dehazed foggy frame's crops look clear; the frame's estimate still says fog
    tail = routed([CLEAR, DARK], "fog")[:, -len(CONDITIONS):]
    assert tail.argmax(axis=1).tolist() == [CONDITIONS.index("fog")] * 2
    dets = Detections(xyxy=np.array([[0, 0, 40, 60]], np.float32),
                      confidence=np.ones(1, np.float32), class_id=np.full(1, 2))
    row = embed_detections(CLEAR, dets, routed, condition="night").embedding[0]
    assert routed.describe(row)[0] == {"condition": "night"}


def test_pairs_compare_in_the_expert_of_the_harder_condition(
    tracklet_factory: Callable[..., Tracklet]
) -> None:
    # three experts, 1-d, 2-d and 1-d: day, night, fog; blocks need not be unit (centring)
    table = table_of(tracklet_factory, ["day", "day", "night", "fog"])
    emb = np.array([[2.0, 0.6, 0.8, 1], [-1.0, 0.6, -0.8, 1], [1, 0, 3.0, 1], [1, 1, 0, -0.5]])
    left, right = HarderCondition({"day": "a", "night": "n", "fog": "f"},
                                  {"a": 1, "n": 2, "f": 1})(emb, table)
    sim = left @ right.T
    np.testing.assert_allclose(sim, [[1, -1, 0.8, -1], [-1, 1, -0.8, -1], [0.8, -0.8, 1, -1],
                                     [-1, -1, -1, 1]], atol=1e-6)
    np.testing.assert_allclose(sim, sim.T)


def test_one_expert_for_two_conditions_is_embedded_once(
    tracklet_factory: Callable[..., Tracklet]
) -> None:
    # the default split: fog and day crops both in "a"; a night pair in "n"
    route = {"day": "a", "night": "n", "fog": "a"}
    table = table_of(tracklet_factory, ["fog", "night", "day"])
    emb = np.array([[1.0, 0.0, 1.0], [0.6, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    left, right = HarderCondition(route, {"a": 1, "n": 2})(emb, table)
    # fog is harder than night: fog-night compares in "a"
    np.testing.assert_allclose(left @ right.T, [[1, 1, -1], [1, 1, 0], [-1, 0, 1]], atol=1e-6)
    embedder = RoutedEmbedder({"a": Constant([1.0]), "n": Constant([0.0, 1.0])}, route)
    assert embedder([CLEAR]).shape == (1, 3 + 3)


def test_a_tracklet_compares_in_its_cameras_condition(
    tracklet_factory: Callable[..., Tracklet]
) -> None:
    # a dark car in a day camera is a day tracklet; a tie goes to the harder condition
    conditions = ["day", "night", "day", "night", "night", "fog", "night"]
    table = table_of(tracklet_factory, conditions, ["d", "d", "d", "n", "n", "t", "t"])
    assert [HARDNESS[level] for level in camera_levels(table)] == (
        ["day"] * 3 + ["night"] * 2 + ["fog"] * 2)


def test_routing_needs_an_expert_per_condition() -> None:
    with pytest.raises(ValueError, match="sjdl"):
        RoutedEmbedder({"alsa": Constant([1.0])}, ROUTE)


def test_auto_loads_the_shipped_experts_once_each() -> None:
    cfg = AppearanceConfig()
    cfg = replace(cfg, embedder=replace(cfg.embedder, weights=AUTO))
    embed = load_embed(cfg)
    assert isinstance(embed, RoutedEmbedder) and len(embed.experts) == 2  # alsa, alsa_night
    rows = embed([CLEAR, DARK])
    assert rows.shape == (2, 512 + 512 + 3)
    compare = load_compare(cfg)
    assert compare is not None and compare.dims == [512, 512]


def test_only_an_sjdl_fog_expert_gets_foggy_crops_as_seen() -> None:
    auto = replace(AppearanceConfig(), embedder=replace(AppearanceConfig().embedder, weights=AUTO))
    assert not wants_foggy_crops(auto)  # the default fog expert is ALSA
    assert wants_foggy_crops(replace(auto, sjdl_expert="sjdl"))
    assert not wants_foggy_crops(AppearanceConfig())  # alsa alone: dehazed crops


def test_missing_expert_checkpoint_is_an_input_error(tmp_path: Path) -> None:
    cfg = AppearanceConfig(night_expert=str(tmp_path / "none.pt"))
    cfg = replace(cfg, embedder=replace(cfg.embedder, weights=AUTO))
    with pytest.raises(InputError, match=r"night expert checkpoint not found.*night_expert"):
        load_embed(cfg)


def test_condition_reaches_tracks_csv_and_graph(
    routed: RoutedEmbedder, tracklet_factory: Callable[..., Tracklet], tmp_path: Path
) -> None:
    fog = describe_tracklet(replace(tracklet_factory("c1", 1, [0]), embedding=routed([FOG])[0]),
                            routed)
    assert fog.embedding.shape == (2 + 3,)
    plain = describe_tracklet(tracklet_factory("c2", 2, [0]), Constant([1.0]))
    assert fog.extra == {"condition": "fog"} and plain.extra == {}
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, [fog, plain], {fog.key: 1, plain.key: 2})
    lines = path.read_text().splitlines()
    assert lines[0].endswith(",class,condition")
    assert lines[1].endswith(",car,fog") and lines[2].endswith(",car,")
    _, graph = match_tracklets([fog, plain], MatchingConfig(min_similarity=0.85, scorer="cosine"))
    assert graph.nodes[fog.key]["condition"] == "fog" and "condition" not in graph.nodes[plain.key]


def test_matching_uses_the_comparison(tracklet_factory: Callable[..., Tracklet]) -> None:
    # ALSA 1-d, SJDL 2-d: the plain cosine is the mean of the two experts' (-1 and 0.6 here)
    clear = replace(tracklet_factory("c1", 1, range(10), embedding=[1.0, 1.0, 0.0]),
                    extra={"condition": "day"})
    fog = replace(tracklet_factory("c2", 1, range(20, 30), embedding=[-1.0, 0.6, 0.8]),
                  extra={"condition": "fog"})
    config = MatchingConfig(min_similarity=0.4, rerank=False, scorer="cosine")
    assert len(set(match_tracklets([clear, fog], config)[0].values())) == 2  # cosine -0.2
    compare = HarderCondition(ROUTE, {"alsa": 1, "sjdl": 2})
    ids, graph = match_tracklets([clear, fog], config, compare)
    assert len(set(ids.values())) == 1
    assert graph.edges[clear.key, fog.key]["similarity"] == pytest.approx(0.6)  # SJDL's
    night_day = [replace(clear, extra={"condition": "night"}), replace(fog, extra={})]
    assert len(set(match_tracklets(night_day, config, compare)[0].values())) == 2  # ALSA's -1
