"""Model lookup: `MODELS` maps a method name to a builder; `build_model` validates the name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from reid.errors import ConfigError
from reid.models.alsa import ALSAConfig, ALSACorrection
from reid.models.backbone import BackboneConfig, CorrectedNet, EmbeddingNet, EmbeddingOutput
from reid.models.sjdl import SJDL, SJDLConfig


@dataclass(frozen=True)
class ModelConfig:
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    alsa: ALSAConfig = field(default_factory=ALSAConfig)  # used by method "alsa"
    sjdl: SJDLConfig = field(default_factory=SJDLConfig)  # used by method "sjdl"


def _baseline(cfg: ModelConfig, num_ids: int) -> nn.Module:
    return EmbeddingNet(cfg.backbone, num_ids)


def _alsa(cfg: ModelConfig, num_ids: int) -> nn.Module:
    return CorrectedNet(ALSACorrection(cfg.alsa), EmbeddingNet(cfg.backbone, num_ids))


def _sjdl(cfg: ModelConfig, num_ids: int) -> nn.Module:
    return SJDL(cfg.backbone, cfg.sjdl, num_ids)


MODELS: dict[str, Callable[[ModelConfig, int], nn.Module]] = {
    "baseline": _baseline,
    "alsa": _alsa,
    "sjdl": _sjdl,
}


def build_model(name: str, cfg: ModelConfig, num_ids: int = 0) -> nn.Module:
    """The `name` model: `forward(images) -> EmbeddingOutput`, `embed(images) -> (B, D)`.

    `num_ids > 0` adds an identity classifier (for the cross-entropy term).
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](cfg, num_ids)


__all__ = ["MODELS", "BackboneConfig", "EmbeddingOutput", "ModelConfig", "build_model"]
