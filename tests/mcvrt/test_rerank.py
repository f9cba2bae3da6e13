"""k-reciprocal re-ranking: the blocked sparse version equals the dense algorithm of the paper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from mcvrt.association import match_tracklets
from mcvrt.association.candidates import Gate
from mcvrt.association.rerank import KReciprocal
from mcvrt.association.scoring import CosineScorer
from mcvrt.association.table import Table
from mcvrt.config import MatchingConfig
from mcvrt.errors import ConfigError
from mcvrt.types import Tracklet
from tests.mcvrt.test_association import CFG, planted


def dense_rerank(score: np.ndarray, linkable: np.ndarray, k1: int, k2: int, lam: float
                 ) -> np.ndarray:
    """Zhong et al.'s re-ranking written out on full matrices, one tracklet at a time; a
    tracklet's gallery is itself and the tracklets `linkable` to it, distance 1 - score."""
    n = len(score)
    ranked = [[p, *sorted(np.flatnonzero(linkable[p]), key=lambda q: (-score[p, q], q))]
              for p in range(n)]

    def reciprocal(p: int, k: int) -> list[int]:
        return [q for q in ranked[p][: k + 1] if p in ranked[q][: k + 1]]

    v = np.zeros((n, n))
    for p in range(n):
        own = reciprocal(p, k1)
        expanded = set(own)
        for q in own:
            theirs = reciprocal(q, round(k1 / 2))
            if len(set(theirs) & set(own)) > 2 / 3 * len(theirs):
                expanded |= set(theirs)
        members = sorted(expanded)
        weights = np.exp(-(1.0 - score[p, members]))
        v[p, members] = weights / weights.sum()
    v = np.array([v[ranked[p][:k2]].mean(axis=0) for p in range(n)])
    shared = np.minimum(v[:, None, :], v[None, :, :]).sum(axis=-1)
    return lam * score + (1 - lam) * shared / (2 - shared)


@pytest.mark.parametrize("k1, k2", [(3, 1), (4, 2), (10, 3), (20, 6)])
def test_blocked_rerank_equals_the_dense_algorithm(tracklet_factory: Callable[..., Tracklet],
                                                   k1: int, k2: int) -> None:
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(15, 8))
    tracklets = [  # 15 vehicles, 3 cameras, 60 s; some too short to link
        tracklet_factory(f"c{i % 3}", i, range(start, start + int(rng.integers(3, 30))),
                         looks[i % 15] + rng.normal(scale=0.5, size=8))
        for i, start in enumerate(sorted(rng.integers(0, 600, 120)))
    ]
    table = Table.build(tracklets, 5)
    gate = Gate.build(table.camera_ids, 15.0)
    cosine = CosineScorer(table)
    i, j = np.triu_indices(len(table), k=1)  # rows by start: i first
    linkable = np.zeros((len(table), len(table)), bool)
    linkable[i, j] = gate.allows(table, i, j) & table.usable[i] & table.usable[j]
    linkable |= linkable.T
    assert 20 < linkable.sum(axis=1).mean() < len(table) / 2  # blocks, not all pairs
    expected = dense_rerank(cosine(slice(None), slice(None)).astype(np.float64), linkable,
                            k1, k2, 0.3)
    reranked = KReciprocal(table, cosine, gate, k1, k2, 0.3)
    np.testing.assert_allclose(reranked(slice(None), slice(None)), expected, atol=1e-6)
    rows, cols = np.array([5, 2, 70]), np.array([9, 5])
    np.testing.assert_allclose(reranked(rows, cols), expected[np.ix_(rows, cols)], atol=1e-6)


def test_matching_with_rerank_recovers_planted_identities(
        tracklet_factory: Callable[..., Tracklet]) -> None:
    cfg = replace(CFG, rerank=True, rerank_k1=4, rerank_k2=2, min_similarity=0.5)
    global_ids, graph = match_tracklets(planted(tracklet_factory), cfg)
    assert global_ids == match_tracklets(planted(tracklet_factory), CFG)[0]
    assert all(s <= 1.0 + 1e-6 for _, _, s in graph.edges(data="similarity"))


@pytest.mark.parametrize("key, value", [("rerank_k1", 0), ("rerank_k2", 12),
                                        ("rerank_lambda", 1.5)])
def test_rerank_settings_are_checked(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"matching.{key}"):
        MatchingConfig(**{key: value})
