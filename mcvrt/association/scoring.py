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
# (N, D) -> (N, D), linear and symmetric (a @ compare(b) == b @ compare(a)): similarity is
# a @ compare(b), e.g. to compare condition-routed embeddings in the harder condition's expert
Compare = Callable[[np.ndarray], np.ndarray]


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
    """Cosine similarity of the tracklets' unit embeddings, a @ compare(b) (0 without one)."""

    def __init__(self, table: Table, compare: Compare | None = None) -> None:
        self.left = table.embeddings
        self.right = table.embeddings if compare is None else compare(table.embeddings)

    def __call__(self, rows: Index, cols: Index) -> np.ndarray:
        return self.left[rows] @ self.right[cols].T
