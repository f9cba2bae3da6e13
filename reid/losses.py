"""Metric-learning losses on L2-normalised embeddings Z (B, D) with identity labels y (B,).

All masks come from the labels, so batch order does not matter. An anchor counts only when it
has at least one positive (same label, other index) and one negative in the batch.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _masks(labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(positives, negatives, valid anchors): (B, B), (B, B), (B,) bool."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos, neg = same & ~eye, ~same
    return pos, neg, pos.any(1) & neg.any(1)


def _mean_valid(per_anchor: Tensor, valid: Tensor, emb: Tensor) -> Tensor:
    """Mean over valid anchors; a graph-connected zero when there are none."""
    return per_anchor[valid].mean() if valid.any() else emb.sum() * 0.0


def log_triplet_loss(
    emb: Tensor, labels: Tensor, tau: float = 0.07, margin: float = 0.1, hinge: bool = False
) -> Tensor:
    """ALSA's LT-loss (Eq. 12/15), log-sum-exp form (methods.md §1.6):

    L_a = tau * [ LSE_{n in N(a)} S_an / tau + LSE_{p in P(a)} (-S_ap / tau) ] + m.
    With `hinge=False` (paper-literal) m only shifts the value; `hinge=True` takes relu(L_a).
    """
    sim = emb @ emb.T
    pos, neg, valid = _masks(labels)
    inf = torch.tensor(float("-inf"), device=emb.device, dtype=emb.dtype)
    neg_lse = torch.logsumexp(torch.where(neg, sim / tau, inf), dim=1)
    pos_lse = torch.logsumexp(torch.where(pos, -sim / tau, inf), dim=1)
    per_anchor = tau * (neg_lse + pos_lse) + margin
    if hinge:
        per_anchor = per_anchor.clamp(min=0)
    return _mean_valid(torch.where(valid, per_anchor, 0.0), valid, emb)


def batch_hard_triplet_loss(emb: Tensor, labels: Tensor, margin: float = 0.3) -> Tensor:
    """Batch-hard triplet (Hermans et al.): relu(max_p d_ap - min_n d_an + margin), Euclidean d."""
    dist = (2.0 - 2.0 * (emb @ emb.T)).clamp(min=1e-12).sqrt()
    pos, neg, valid = _masks(labels)
    hardest_pos = torch.where(pos, dist, 0.0).amax(dim=1)
    hardest_neg = torch.where(neg, dist, float("inf")).amin(dim=1)
    per_anchor = (hardest_pos - hardest_neg + margin).clamp(min=0)
    return _mean_valid(torch.where(valid, per_anchor, 0.0), valid, emb)


def _sigmoid(x: Tensor) -> Tensor:
    return torch.sigmoid(x.clamp(-50.0, 50.0))


def recall_at_k_loss(
    emb: Tensor,
    labels: Tensor,
    ks: tuple[int, ...] = (1, 2, 4, 8, 16),
    tau1: float = 0.01,
    tau2: float = 1.0,
) -> Tensor:
    """Recall@k surrogate (Patel et al. 2022), methods.md §1.7, query excluded from its ranks:

    r_q(i) = 1 + sum_{j != q, i} sig((S_qj - S_qi) / tau1),
    R_k(q) = min(k, sum_{i in P(q)} sig((k - r_q(i)) / tau2)) / min(k, |P(q)|),
    L = mean_q [1 - mean_k R_k(q)].  Values of k >= B are dropped.
    """
    b = emb.shape[0]
    sim = emb @ emb.T
    pos, _, valid = _masks(labels)
    eye = torch.eye(b, dtype=torch.bool, device=emb.device)
    others = ~eye[:, None, :] & ~eye[None, :, :]  # [q, i, j]: j != q and j != i
    rank = 1.0 + (_sigmoid((sim[:, None, :] - sim[:, :, None]) / tau1) * others).sum(-1)
    n_pos = pos.sum(1).to(emb.dtype)
    recalls = []
    for k in (k for k in ks if k < b):
        hits = (_sigmoid((k - rank) / tau2) * pos).sum(1)
        recalls.append(hits.clamp(max=k) / n_pos.clamp(min=1, max=k))
    if not recalls:
        raise ValueError(f"recall@k loss: every k in {ks} is >= the batch size {b}")
    per_query = 1.0 - torch.stack(recalls).mean(0)
    return _mean_valid(torch.where(valid, per_query, 0.0), valid, emb)
