"""k-reciprocal re-ranking (Zhong et al., CVPR 2017) of edge scores, inside the candidate blocks.

A tracklet's neighbours are itself and the tracklets it could be linked to (usable, another
camera, a pair the `Gate` allows: time gap and zones), ranked by the base score, so neighbour
lists come from the same time blocks as the candidates and the cost grows with the local
density only.
With R(p, k) the k-reciprocal set of p (q among p's k nearest and p among q's), each p gets a
weighted set V(p): R(p, k1), expanded by R(q, k1 / 2) of members q that share more than 2/3 of
it, weighted by exp(-distance) (distance = 1 - base score) and normalised, then averaged over
p's k2 nearest (local query expansion). The re-ranked score of p, q is

    lambda * base(p, q) + (1 - lambda) * Jaccard(V(p), V(q)),

Jaccard = sum(min) / sum(max), i.e. one minus the paper's distance: the paper's Jaccard distance
term weighted 1 - lambda, its original distance lambda.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import sparse

from mcvrt.association.candidates import Gate, blocks
from mcvrt.association.scoring import EdgeScorer, Index
from mcvrt.association.table import Table

_PAIRS_PER_CHUNK = 1 << 21  # (row, row, column) triples summed at once in `_min_overlap`


class KReciprocal:
    """An `EdgeScorer`: `base` re-ranked by k-reciprocal neighbours (module docstring)."""

    def __init__(self, table: Table, base: EdgeScorer, gate: Gate, k1: int, k2: int,
                 lam: float) -> None:
        self.base, self.lam = base, lam
        ranked = nearest(table, base, gate, k1)
        reciprocal = _reciprocal(ranked[:, : k1 + 1])
        half = _reciprocal(ranked[:, : round(k1 / 2) + 1])
        weights = _weights(_expand(reciprocal, half), base)
        weights = _rows_mean(ranked[:, :k2]) @ weights  # local query expansion
        self.overlap = _min_overlap(weights)  # sum_c min(V[p, c], V[q, c])

    def __call__(self, rows: Index, cols: Index) -> np.ndarray:
        shared = self.overlap[rows][:, cols].toarray()
        jaccard = shared / (2.0 - shared)  # each V row sums to 1: sum(max) = 2 - sum(min)
        return (self.lam * self.base(rows, cols) + (1.0 - self.lam) * jaccard).astype(np.float32)


def nearest(table: Table, base: EdgeScorer, gate: Gate, k: int) -> np.ndarray:
    """(N, k + 1) rows: each tracklet itself, then its k best-scoring link candidates, best
    first (ties by row), -1 where it has fewer."""
    n = len(table)
    found = [(np.arange(n), np.arange(n), np.full(n, np.inf, np.float32))]  # itself first
    for lo, hi, stop in blocks(table, gate.horizon) if gate.horizon > -np.inf else ():
        i, j = np.arange(lo, hi)[:, None], np.arange(lo, stop)[None, :]
        ok = (j > i) & table.usable[i] & table.usable[j]
        rows, cols = np.nonzero(ok)
        ok[rows, cols] = gate.allows(table, rows + lo, cols + lo)
        score = np.where(ok, base(slice(lo, hi), slice(lo, stop)), -np.inf)
        r, c, best = _top(score, k)  # each row's best later rows
        found.append((r + lo, c + lo, best))
        c, r, best = _top(score.T, k)  # each column's best earlier rows
        found.append((c + lo, r + lo, best))
    a, b, s = (np.concatenate(x) for x in zip(*found, strict=True))
    order = np.lexsort((b, -s, a))
    a, b = a[order], b[order]
    rank = np.arange(len(a)) - np.searchsorted(a, a)
    keep = rank <= k
    ranked = np.full((n, k + 1), -1, np.int64)
    ranked[a[keep], rank[keep]] = b[keep]
    return ranked


def _top(score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, score) of each row's k highest finite scores."""
    k = min(k, score.shape[1])
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, score.dtype)
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(score, top, axis=1)
    rows, pos = np.nonzero(best > -np.inf)
    return rows, top[rows, pos], best[rows, pos]


def _members(ranked: np.ndarray) -> sparse.csr_matrix:
    """Boolean (N, N) matrix: row p marks the rows listed in ranked[p]."""
    n = len(ranked)
    rows, cols = np.nonzero(ranked >= 0)
    return sparse.csr_matrix((np.ones(len(rows), bool), (rows, ranked[rows, cols])), (n, n))


def _reciprocal(ranked: np.ndarray) -> sparse.csr_matrix:
    """R(p, k) for every p: q in p's list and p in q's (p itself included)."""
    forward = _members(ranked)
    return forward.multiply(forward.T).tocsr()


def _expand(reciprocal: sparse.csr_matrix, half: sparse.csr_matrix) -> sparse.csr_matrix:
    """R(p, k1) plus R(q, k1/2) of each member q sharing more than 2/3 of it with R(p, k1)."""
    shared = (reciprocal.astype(np.int32) @ half.T.astype(np.int32)).multiply(reciprocal).tocoo()
    sizes = np.asarray(half.sum(axis=1)).ravel()
    keep = shared.data > 2.0 / 3.0 * sizes[shared.col]
    taken = sparse.csr_matrix((np.ones(keep.sum(), np.int32), (shared.row[keep], shared.col[keep])),
                              reciprocal.shape)
    return ((reciprocal.astype(np.int32) + taken @ half.astype(np.int32)) > 0).tocsr()


def _weights(members: sparse.csr_matrix, base: EdgeScorer) -> sparse.csr_matrix:
    """Row-normalised exp(-(1 - base score)) over each row's members."""
    members.sort_indices()
    data = np.empty(members.nnz, np.float64)
    for lo in range(0, members.shape[0], 512):
        hi = min(lo + 512, members.shape[0])
        start, stop = members.indptr[lo], members.indptr[hi]
        cols = members.indices[start:stop]
        wanted = np.unique(cols)
        local = np.repeat(np.arange(hi - lo), np.diff(members.indptr[lo : hi + 1]))
        data[start:stop] = base(slice(lo, hi), wanted)[local, np.searchsorted(wanted, cols)]
    weights = sparse.csr_matrix((np.exp(data - 1.0), members.indices, members.indptr),
                                members.shape)
    return sparse.diags(1.0 / np.asarray(weights.sum(axis=1)).ravel()) @ weights


def _rows_mean(ranked: np.ndarray) -> sparse.csr_matrix:
    """(N, N): row p averages the rows listed in ranked[p]."""
    members = _members(ranked).astype(np.float64)
    return (sparse.diags(1.0 / np.asarray(members.sum(axis=1)).ravel()) @ members).tocsr()


def _min_overlap(weights: sparse.csr_matrix) -> sparse.csr_matrix:
    """(N, N) sum over columns c of min(W[p, c], W[q, c]), for every p, q sharing a column;
    columns are taken in chunks of about `_PAIRS_PER_CHUNK` (p, q, c) triples."""
    by_column = weights.tocsc()
    chunk = np.cumsum(np.diff(by_column.indptr).astype(np.int64) ** 2) // _PAIRS_PER_CHUNK
    bounds = [0, *(np.flatnonzero(np.diff(chunk)) + 1), by_column.shape[1]]
    total = sparse.csr_matrix(weights.shape, dtype=np.float64)
    for lo, hi in itertools.pairwise(bounds):
        total = total + _column_pairs(by_column, lo, hi)
    return total


def _column_pairs(by_column: sparse.csc_matrix, lo: int, hi: int) -> sparse.csr_matrix:
    """sum of min(W[p, c], W[q, c]) over the columns lo..hi-1 only."""
    indptr = by_column.indptr
    counts = np.diff(indptr[lo : hi + 1])
    entry_col = np.repeat(np.arange(lo, hi), counts)  # column of each stored entry
    entries = np.arange(indptr[lo], indptr[hi])
    per = counts[entry_col - lo]  # partners of each entry: every entry of its column
    a = np.repeat(entries, per)
    b = np.repeat(indptr[entry_col], per) + (np.arange(len(a)) - np.repeat(np.cumsum(per) - per,
                                                                           per))
    values = np.minimum(by_column.data[a], by_column.data[b])
    rows = by_column.indices
    return sparse.csr_matrix((values, (rows[a], rows[b])), by_column.shape)
