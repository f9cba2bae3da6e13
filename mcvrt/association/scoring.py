"""Edge scorers: how alike two tracklets are, behind one small interface and a registry.

An `EdgeScorer` maps row and column index sets of a `Table` to a matrix of scores, higher for
pairs more likely to be one vehicle; candidate edges and the clustering's average linkage both
read it. `matching.scorer` names the registered factory to use, so a new scorer (e.g. a learned
one) is a function decorated with `register_scorer` and a config value, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from mcvrt.association.table import Table
from mcvrt.errors import ConfigError

Index = np.ndarray | slice  # rows of a `Table`: an index array or a slice
# (table's (N, D) embeddings, table) -> (left, right): similarity is left[a] @ right[b], linear
# in each side and symmetric, e.g. routed embeddings compared in the harder condition's expert
Compare = Callable[[np.ndarray, Table], tuple[np.ndarray, np.ndarray]]


class EdgeScorer(Protocol):
    def __call__(self, rows: Index, cols: Index) -> np.ndarray:
        """(len(rows), len(cols)) scores; symmetric: score(i, j) == score(j, i)."""


ScorerFactory = Callable[[Table, Compare | None], EdgeScorer]
SCORERS: dict[str, ScorerFactory] = {}


def register_scorer(name: str) -> Callable[[ScorerFactory], ScorerFactory]:
    """Decorator: make a scorer factory available as ``matching.scorer: <name>``."""

    def register(factory: ScorerFactory) -> ScorerFactory:
        SCORERS[name] = factory
        return factory

    return register


def make_scorer(name: str, table: Table, compare: Compare | None) -> EdgeScorer:
    """The registered scorer `name` over `table`; raises `ConfigError` for an unknown name."""
    check_scorer(name)
    return SCORERS[name](table, compare)


def check_scorer(name: str) -> None:
    """Raise `ConfigError` unless `name` is a registered scorer."""
    if name not in SCORERS:
        raise ConfigError(f"matching.scorer: unknown scorer {name!r} "
                          f"(known: {', '.join(sorted(SCORERS))})")


@register_scorer("cosine")
class CosineScorer:
    """Cosine similarity of the tracklets' unit embeddings (0 without one), or `compare`'s;
    `embeddings` replaces the table's (same rows)."""

    def __init__(self, table: Table, compare: Compare | None = None,
                 embeddings: np.ndarray | None = None) -> None:
        embeddings = table.embeddings if embeddings is None else embeddings
        self.left, self.right = ((embeddings, embeddings) if compare is None
                                 else compare(embeddings, table))

    def __call__(self, rows: Index, cols: Index) -> np.ndarray:
        return self.left[rows] @ self.right[cols].T


# a camera with fewer usable tracklets keeps its embeddings: the mean of a few is mostly those
# vehicles' own looks, not what the camera adds to every vehicle
MIN_CENTRED_ROWS = 10


@register_scorer("centred-cosine")
def centred_cosine(table: Table, compare: Compare | None = None) -> CosineScorer:
    """The cosine of the embeddings less their camera's mean (`camera_centred`)."""
    return CosineScorer(table, compare, camera_centred(table))


def camera_centred(table: Table, min_rows: int = MIN_CENTRED_ROWS) -> np.ndarray:
    """The usable rows' embeddings less the mean of their camera's usable rows, scaled to unit
    length again; cameras with fewer than `min_rows` usable rows, and the other rows, as they
    are.

    What a camera's light, weather, colour cast and view add to every vehicle it sees is shared
    by all its tracklets; removed, a night or fog camera's tracklets compare with a day camera's
    on what tells vehicles apart. With `auto` (routed experts) every expert's block is centred
    (`HarderCondition` then scales each to unit length).
    """
    centred = table.embeddings.copy()
    for camera in range(len(table.camera_ids)):
        rows = np.flatnonzero(table.usable & (table.cameras == camera))
        if len(rows) < min_rows:
            continue
        shifted = centred[rows] - centred[rows].mean(axis=0)
        norms = np.linalg.norm(shifted, axis=1, keepdims=True)
        centred[rows] = shifted / np.maximum(norms, np.finfo(np.float32).tiny)
    return centred
