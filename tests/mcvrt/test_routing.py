"""`--reid auto`: condition-routed experts, their per-tracklet record in tracks.csv / graph.json."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcvrt.appearance import (
    CONDITION_WEIGHT,
    HarderCondition,
    RoutedEmbedder,
    describe_tracklet,
    load_embed,
)
from mcvrt.association import match_tracklets
from mcvrt.conditions import CROP_THRESHOLDS, classify
from mcvrt.config import AUTO, AppearanceConfig, MatchingConfig
from mcvrt.errors import InputError
from mcvrt.export import write_tracks_csv
from mcvrt.types import Tracklet

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


@pytest.fixture
def routed() -> RoutedEmbedder:
    return RoutedEmbedder({"alsa": Constant([1, 0]), "sjdl": Constant([0, 0, 1])})


def test_estimator_on_constructed_crops() -> None:
    assert [classify(c, CROP_THRESHOLDS) for c in (CLEAR, DARK, FOG)] == ["day", "night", "fog"]


def test_dark_crop_goes_to_alsa_and_foggy_crop_to_sjdl(routed: RoutedEmbedder) -> None:
    out = routed([DARK, FOG, CLEAR])
    described = [routed.describe(row) for row in out]
    assert [extra for extra, _ in described] == [
        {"condition": "night", "expert": "alsa"},
        {"condition": "fog", "expert": "sjdl"},
        {"condition": "day", "expert": "alsa"},
    ]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    # the tracker compares crops by the mean of the experts' cosines
    assert out[0] @ out[1] == pytest.approx(1 - CONDITION_WEIGHT**2)
    # tracklets: [ALSA, SJDL unless fog, SJDL if fog]
    assert described[0][1].tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert described[1][1].tolist() == [0, 0, 0, 0, 0, 0, 0, 1]


def test_pairs_compare_in_the_expert_of_the_harder_condition() -> None:
    # tracklets in the layout of RoutedEmbedder.describe, ALSA 1-d, SJDL 2-d
    clear_a, clear_b = [1.0, 0.6, 0.8, 0, 0], [-1.0, 0.6, -0.8, 0, 0]
    fog_c = [0, 0, 0, 1.0, 0]
    emb = np.array([clear_a, clear_b, fog_c])
    sim = emb @ HarderCondition(1, 2)(emb).T
    np.testing.assert_allclose(sim, [[1.0, -1.0, 0.6], [-1.0, 1.0, 0.6], [0.6, 0.6, 1.0]])


def test_routing_needs_both_experts() -> None:
    with pytest.raises(ValueError, match="sjdl"):
        RoutedEmbedder({"alsa": Constant([1.0])})


def test_missing_expert_checkpoint_is_an_input_error(tmp_path: Path) -> None:
    cfg = AppearanceConfig(alsa_expert=str(tmp_path / "none.pt"))
    cfg = replace(cfg, embedder=replace(cfg.embedder, weights=AUTO))
    with pytest.raises(InputError, match="alsa expert checkpoint not found"):
        load_embed(cfg)


def test_condition_and_expert_reach_tracks_csv_and_graph(
    routed: RoutedEmbedder, tracklet_factory: Callable[..., Tracklet], tmp_path: Path
) -> None:
    fog = describe_tracklet(replace(tracklet_factory("c1", 1, [0]), embedding=routed([FOG])[0]),
                            routed)
    assert fog.embedding.tolist() == [0, 0, 0, 0, 0, 0, 0, 1]
    plain = describe_tracklet(tracklet_factory("c2", 2, [0]), Constant([1.0]))
    assert fog.extra == {"condition": "fog", "expert": "sjdl"} and plain.extra == {}
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, [fog, plain], {fog.key: 1, plain.key: 2})
    lines = path.read_text().splitlines()
    assert lines[0].endswith(",class,condition,expert")
    assert lines[1].endswith(",car,fog,sjdl") and lines[2].endswith(",car,,")
    _, graph = match_tracklets([fog, plain], MatchingConfig(min_similarity=0.85, scorer="cosine"))
    assert graph.nodes[fog.key]["expert"] == "sjdl" and "expert" not in graph.nodes[plain.key]


def test_matching_uses_the_comparison(tracklet_factory: Callable[..., Tracklet]) -> None:
    clear = tracklet_factory("c1", 1, range(10), embedding=[1.0, 0.6, 0.8, 0, 0])
    fog = tracklet_factory("c2", 1, range(20, 30), embedding=[0, 0, 0, 1.0, 0])
    config = MatchingConfig(min_similarity=0.4, rerank=False,
                            scorer="cosine")  # `clear` scaled to unit
    assert len(set(match_tracklets([clear, fog], config)[0].values())) == 2  # cosine 0
    ids, graph = match_tracklets([clear, fog], config, HarderCondition(1, 2))
    assert len(set(ids.values())) == 1  # SJDL similarity 0.6 / sqrt(2)
    assert graph.edges[clear.key, fog.key]["similarity"] == pytest.approx(0.6 / np.sqrt(2))
