"""Per-method loss recipes: `objective(output, batch, cfg) -> {term name: weighted loss}`.

The training loop sums the returned terms and logs each one. `LossConfig.terms` picks the terms,
e.g. `[lt, rsk]` (ALSA's best, methods.md §1.7), `[triplet]` or `[triplet, ce]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor

from reid.config import require
from reid.data.datasets import Batch
from reid.losses import batch_hard_triplet_loss, log_triplet_loss, recall_at_k_loss
from reid.models import EmbeddingOutput


@dataclass(frozen=True)
class LossConfig:
    terms: tuple[str, ...] = ("lt", "rsk")  # any of: lt, rsk, triplet, ce
    weights: dict[str, float] = field(default_factory=dict)  # per-term weight; missing = 1
    lt_tau: float = 0.07
    lt_margin: float = 0.1
    lt_margin_mode: str = "additive"  # "additive" (paper: shifts the value only) | "hinge"
    triplet_margin: float = 0.3
    rsk_ks: tuple[int, ...] = (1, 2, 4, 8, 16)
    rsk_tau1: float = 0.01
    rsk_tau2: float = 1.0
    ce_smoothing: float = 0.1

    def __post_init__(self) -> None:
        require(len(self.terms) > 0, "loss.terms must name at least one term")
        for name in (*self.terms, *self.weights):
            require(name in TERMS, f"unknown loss term {name!r}; choose from {sorted(TERMS)}")
        require(
            self.lt_tau > 0 and self.rsk_tau1 > 0 and self.rsk_tau2 > 0,
            "loss temperatures must be > 0",
        )
        require(
            self.lt_margin_mode in ("additive", "hinge"),
            "loss.lt_margin_mode must be 'additive' or 'hinge'",
        )
        require(all(k >= 1 for k in self.rsk_ks), "loss.rsk_ks must be >= 1")
        require(0.0 <= self.ce_smoothing < 1.0, "loss.ce_smoothing must be in [0, 1)")

    @property
    def needs_classifier(self) -> bool:
        return "ce" in self.terms


def _ce(out: EmbeddingOutput, batch: Batch, cfg: LossConfig) -> Tensor:
    if out.logits is None:
        raise ValueError("the 'ce' term needs a model built with num_ids > 0")
    return F.cross_entropy(out.logits, batch.ids, label_smoothing=cfg.ce_smoothing)


TERMS: dict[str, Callable[[EmbeddingOutput, Batch, LossConfig], Tensor]] = {
    "lt": lambda out, batch, cfg: log_triplet_loss(
        out.embedding, batch.ids, cfg.lt_tau, cfg.lt_margin, cfg.lt_margin_mode == "hinge"
    ),
    "rsk": lambda out, batch, cfg: recall_at_k_loss(
        out.embedding, batch.ids, cfg.rsk_ks, cfg.rsk_tau1, cfg.rsk_tau2
    ),
    "triplet": lambda out, batch, cfg: batch_hard_triplet_loss(
        out.embedding, batch.ids, cfg.triplet_margin
    ),
    "ce": _ce,
}


def embedding_objective(out: EmbeddingOutput, batch: Batch, cfg: LossConfig) -> dict[str, Tensor]:
    """The configured metric-learning terms on the batch embeddings, each times its weight."""
    return {name: cfg.weights.get(name, 1.0) * TERMS[name](out, batch, cfg) for name in cfg.terms}


Objective = Callable[[EmbeddingOutput, Batch, LossConfig], dict[str, Tensor]]
OBJECTIVES: dict[str, Objective] = {"baseline": embedding_objective, "alsa": embedding_objective}
