"""Losses against brute-force loops and hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reid.losses import batch_hard_triplet_loss, log_triplet_loss, recall_at_k_loss

# 4 identities x 2 images, plus one image (label 9) without a positive: not an anchor
LABELS = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 9])


def embeddings(seed: int = 0, n: int = 9, dim: int = 5) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, dim, generator=gen, dtype=torch.float64), dim=1)


def brute_force_lt(z: torch.Tensor, labels: list[int], tau: float, margin: float) -> float:
    total, anchors = 0.0, 0
    for a in range(len(labels)):
        neg = sum(
            math.exp(float(z[a] @ z[n]) / tau) for n in range(len(labels)) if labels[n] != labels[a]
        )
        pos = sum(
            math.exp(-float(z[a] @ z[p]) / tau)
            for p in range(len(labels))
            if p != a and labels[p] == labels[a]
        )
        if pos and neg:
            total += tau * math.log(neg * pos) + margin
            anchors += 1
    return total / anchors


def test_log_triplet_matches_a_brute_force_double_loop() -> None:
    z = embeddings()
    for tau, margin in [(0.07, 0.1), (1.0, 0.0), (0.5, 0.3)]:
        expected = brute_force_lt(z, LABELS.tolist(), tau, margin)
        assert float(log_triplet_loss(z, LABELS, tau, margin)) == pytest.approx(expected, rel=1e-12)


def test_log_triplet_margin_moves_the_value_not_the_gradient() -> None:
    grads, values = [], []
    for margin in (0.1, 0.5):
        z = embeddings().requires_grad_(True)
        loss = log_triplet_loss(z, LABELS, 0.07, margin)
        loss.backward()
        grads.append(z.grad)
        values.append(float(loss.detach()))
    assert values[1] - values[0] == pytest.approx(0.4, abs=1e-12)
    assert torch.equal(grads[0], grads[1])
    assert torch.isfinite(grads[0]).all()


def test_log_triplet_separated_case_in_float32_and_hinge() -> None:
    z = torch.eye(5)[torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4])]  # label 9 -> its own axis
    # each anchor: 7 negatives at cos 0, 1 positive at cos 1 -> 0.07 * (ln 7 - 1/0.07) + 0.1
    value = log_triplet_loss(z, LABELS, 0.07, 0.1)
    assert float(value) == pytest.approx(0.07 * math.log(7) - 1 + 0.1, rel=1e-6)
    assert float(value) < 0.0  # no hinge: the LT-loss goes negative (methods.md §1.6)
    assert float(log_triplet_loss(z, LABELS, 0.07, 0.1, hinge=True)) == 0.0


def test_batch_hard_triplet_hand_case() -> None:
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [-1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    # hardest positive / negative per anchor: a 0 (hinged), b sqrt(.4)-sqrt(.8)+.3, c 0,
    # d sqrt(2)-sqrt(.8)+.3
    expected = (math.sqrt(0.4) - math.sqrt(0.8) + 0.3 + math.sqrt(2) - math.sqrt(0.8) + 0.3) / 4
    assert float(batch_hard_triplet_loss(z, labels, 0.3)) == pytest.approx(expected, rel=1e-9)
    assert float(batch_hard_triplet_loss(z, labels, 0.0)) == pytest.approx(
        (math.sqrt(2) - math.sqrt(0.8)) / 4, rel=1e-9
    )


def brute_force_rsk(
    z: torch.Tensor, labels: list[int], ks: tuple[int, ...], t1: float, t2: float
) -> float:
    sig = lambda x: 1 / (1 + math.exp(-max(-50.0, min(50.0, x))))  # noqa: E731
    s = (z @ z.T).tolist()
    b, losses = len(labels), []
    for q in range(b):
        pos = [i for i in range(b) if i != q and labels[i] == labels[q]]
        if not pos or all(labels[j] == labels[q] for j in range(b)):
            continue
        rank = {
            i: 1 + sum(sig((s[q][j] - s[q][i]) / t1) for j in range(b) if j not in (q, i))
            for i in pos
        }
        recall = [
            min(k, sum(sig((k - rank[i]) / t2) for i in pos)) / min(k, len(pos))
            for k in ks
            if k < b
        ]
        losses.append(1 - sum(recall) / len(recall))
    return sum(losses) / len(losses)


def test_recall_at_k_matches_a_brute_force_loop() -> None:
    z = embeddings(1)
    for ks, t1 in [((1, 2, 4, 8, 16), 0.01), ((1, 3), 0.5)]:
        expected = brute_force_rsk(z, LABELS.tolist(), ks, t1, 1.0)
        got = recall_at_k_loss(z, LABELS, ks, t1, 1.0)
        assert float(got) == pytest.approx(expected, rel=1e-10)


def test_recall_at_k_prefers_separated_embeddings() -> None:
    z = embeddings(2).float().requires_grad_(True)
    clustered = F.normalize(torch.eye(5)[LABELS % 5] + 0.01 * z.detach(), dim=1)
    assert float(recall_at_k_loss(clustered, LABELS)) < float(recall_at_k_loss(z.detach(), LABELS))
    recall_at_k_loss(z, LABELS).backward()
    assert torch.isfinite(z.grad).all() and float(z.grad.abs().sum()) > 0
