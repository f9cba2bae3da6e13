"""Per-method loss recipes: `objective(output, batch, cfg) -> {term name: weighted loss}`.

The training loop sums the returned terms and logs each one. `LossConfig.terms` picks the terms,
e.g. `[lt, rsk]` (ALSA's best, methods.md §1.7), `[triplet]` or `[triplet, ce]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from reid.config import require
from reid.data.datasets import Batch
from reid.fog_losses import SJDLLossConfig, defog_l2, unsupervised_defog_losses
from reid.losses import batch_hard_triplet_loss, log_triplet_loss, recall_at_k_loss
from reid.models import EmbeddingOutput
from reid.models.sjdl import SJDLOutput


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
    sjdl: SJDLLossConfig = field(default_factory=SJDLLossConfig)  # defogging terms (method sjdl)

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


def sjdl_objective(out: SJDLOutput, batch: Batch, cfg: LossConfig) -> dict[str, Tensor]:
    """SJDL (methods.md §3.2): the configured ReID terms plus, on a synthetic batch (with
    `batch.clean`), λ1·L2 to the clean image, or on a "real" batch (no clean image), the
    unsupervised defogging priors. The loop feeds one batch of each kind per step (S10)."""
    terms = embedding_objective(out, batch, cfg)
    if batch.clean is not None:
        terms["defog_l2"] = cfg.sjdl.lambda1 * defog_l2(out.defogged, batch.clean, out.coarse)
    elif cfg.sjdl.unsupervised:
        terms.update(unsupervised_defog_losses(out.defogged, batch.images, cfg.sjdl))
    return terms


Objective = Callable[[Any, Batch, LossConfig], dict[str, Tensor]]
OBJECTIVES: dict[str, Objective] = {
    "baseline": embedding_objective,
    "alsa": embedding_objective,
    "sjdl": sjdl_objective,
}
