"""Embedding network (methods.md §1.5): ImageNet-normalise -> ResNet trunk -> GeM -> LayerNorm
-> Linear(embed_dim) -> L2, with an optional identity classifier for cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn

from reid.config import require
from reid.data.transforms import IMAGENET_MEAN
from reid.errors import ConfigError

ARCHS = ("resnet18", "resnet34", "resnet50")
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneConfig:
    arch: str = "resnet50"  # resnet18 | resnet34 | resnet50
    weights: str | None = None  # local torchvision ResNet state_dict (ImageNet); None = random init
    embed_dim: int = 512
    last_stride: int = 2  # 1 doubles the final feature map (common in ReID), 2 = torchvision
    gem_p: float = 3.0  # initial GeM exponent (learnable)

    def __post_init__(self) -> None:
        require(
            self.arch in ARCHS,
            f"model.backbone.arch must be one of {list(ARCHS)}, got {self.arch!r}",
        )
        require(self.embed_dim >= 1, "model.backbone.embed_dim must be >= 1")
        require(self.last_stride in (1, 2), "model.backbone.last_stride must be 1 or 2")
        require(self.gem_p >= 1.0, "model.backbone.gem_p must be >= 1")


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


def _trunk(cfg: BackboneConfig) -> tuple[nn.Sequential, int]:
    """torchvision ResNet without avgpool/fc, optionally loaded from a local state_dict."""
    net = getattr(torchvision.models, cfg.arch)(weights=None)
    if cfg.weights is not None:
        path = Path(cfg.weights)
        if not path.is_file():
            raise ConfigError(f"backbone weights not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            missing, _ = net.load_state_dict(state, strict=False)
        except RuntimeError:  # shape mismatch: another architecture
            missing = ["<shapes differ>"]
        if missing:
            raise ConfigError(f"{path}: not a {cfg.arch} state_dict (missing {missing[0]!r} ...)")
    if cfg.last_stride == 1:
        block = net.layer4[0]  # the stride sits in conv2 of a Bottleneck, conv1 of a BasicBlock
        is_bottleneck = isinstance(block, torchvision.models.resnet.Bottleneck)
        (block.conv2 if is_bottleneck else block.conv1).stride = (1, 1)
        block.downsample[0].stride = (1, 1)
    trunk = nn.Sequential(
        net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
    )
    return trunk, net.fc.in_features


class EmbeddingNet(nn.Module):
    """Images in [0, 1] RGB -> unit-norm embeddings (and identity logits when num_ids > 0)."""

    def __init__(self, cfg: BackboneConfig, num_ids: int = 0) -> None:
        super().__init__()
        self.trunk, channels = _trunk(cfg)
        self.frozen_bn = cfg.weights is not None  # methods.md A11: freeze BN only when pretrained
        self.pool = GeM(cfg.gem_p)
        self.norm = nn.LayerNorm(channels)
        self.fc = nn.Linear(channels, cfg.embed_dim)
        self.classifier = nn.Linear(cfg.embed_dim, num_ids) if num_ids > 0 else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> EmbeddingNet:
        super().train(mode)
        if self.frozen_bn:
            for m in self.trunk.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
                    m.requires_grad_(False)
        return self

    def features(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, embed_dim) before L2 normalisation."""
        x = self.trunk((images - self.mean) / self.std)
        return self.fc(self.norm(self.pool(x)))

    def forward(self, images: Tensor) -> EmbeddingOutput:
        feats = self.features(images)
        logits = self.classifier(feats) if self.classifier is not None else None
        return EmbeddingOutput(nn.functional.normalize(feats, dim=1), logits)

    def embed(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] RGB -> (B, embed_dim) unit-norm embeddings."""
        return nn.functional.normalize(self.features(images), dim=1)


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
