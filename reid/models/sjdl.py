"""SJDL (Chen et al., AAAI 2022): a ReID network and a defogging branch sharing the early blocks.

    I ([0,1]) -> ImageNet-norm -> CFSM (early block) -> F_C -> ReIDM (later stages, GAP, BN-neck)
                                                          \\-> FIRM(F_C, stem, I) -> J_coarse, J

The defogging branch (FIRM) only runs in `forward` (training); `embed` is CFSM + ReIDM, so
inference costs exactly what the plain backbone costs. Layout and decisions: methods.md §3.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.config import require
from reid.errors import ConfigError
from reid.models.backbone import (
    BackboneConfig,
    EmbeddingOutput,
    freeze_batchnorm,
    trunk,
)
from reid.models.trunks import ImageNetNormalize

FIRM_LAYOUTS = ("code", "paper")


@dataclass(frozen=True)
class SJDLConfig:
    firm: str = "code"  # "code": the released layer list (default, S2); "paper": the paper's text

    def __post_init__(self) -> None:
        require(self.firm in FIRM_LAYOUTS, f"model.sjdl.firm must be one of {FIRM_LAYOUTS}")


@dataclass(frozen=True)
class SJDLOutput(EmbeddingOutput):
    """`embedding` (B, D): the BN-neck feature, unit norm (triplet and evaluation use it);
    `logits` (B, num_ids): the identity classifier on the BN-neck feature; plus the defogging:"""

    defogged: Tensor  # (B, 3, H, W) refined FIRM output J in [0, 1]
    coarse: Tensor | None  # (B, 3, H, W) coarse FIRM output in [0, 1]; None for firm="paper"


def _conv_in_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.InstanceNorm2d(cout), nn.ReLU(inplace=True)]


def _deconv_in_relu(cin: int, cout: int) -> list[nn.Module]:
    """Stride-2 transposed conv: doubles H and W exactly."""
    return [
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
        nn.InstanceNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class ResBlock(nn.Module):
    """[ReflPad, Conv3x3, IN, ReLU, ReflPad, Conv3x3, IN] + identity; (B, C, H, W) -> same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class PyramidEnhancement(nn.Module):
    """(B, C_in, H, W) -> (B, 3, H, W) in [0, 1]: two 3x3 convs, 4/8/16/32 avg-pool pyramid."""

    def __init__(
        self, in_channels: int, width: int = 20, scales: tuple[int, ...] = (32, 16, 8, 4)
    ) -> None:
        super().__init__()
        self.front = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
        )  # fmt: skip
        self.scales = scales
        self.reduce = nn.ModuleList(nn.Conv2d(width, 1, 1) for _ in scales)
        self.out = nn.Conv2d(width + len(scales), 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        e = self.front(x)
        levels = [
            F.interpolate(F.leaky_relu(conv(F.avg_pool2d(e, s)), 0.2), size=e.shape[-2:])
            for s, conv in zip(self.scales, self.reduce, strict=True)
        ]
        return (torch.tanh(self.out(torch.cat([*levels, e], 1))) + 1) / 2


class FIRM(nn.Module):
    """Fog-free Image Reconstruction Module: (F_C, stem, I) -> (J_coarse | None, J), H x W each.

    firm="code" (default): RB(C) -> conv to 64, concat stem features, [RB, deconv] x 2, a coarse
    RGB head, then the pyramid block on concat(I, J_coarse). firm="paper": [conv, RB, RB, deconv]
    x 2 (C -> 128 -> 64 -> 32), then the pyramid block on concat(I, features); no coarse output.
    Inputs at stride 4 (H/4, W/4); H and W divisible by 32 for every pyramid level to be exact.
    """

    def __init__(self, feat_channels: int, stem_channels: int, layout: str = "code") -> None:
        super().__init__()
        self.layout = layout
        if layout == "code":
            self.u1 = nn.Sequential(ResBlock(feat_channels), *_conv_in_relu(feat_channels, 64))
            self.up = nn.Sequential(
                ResBlock(64 + stem_channels), *_deconv_in_relu(64 + stem_channels, 64),
                ResBlock(64), *_deconv_in_relu(64, 32),
            )  # fmt: skip
            self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(32, 3, 7))
            self.peb = PyramidEnhancement(6)
        else:
            self.up = nn.Sequential(
                *_conv_in_relu(feat_channels, 128), ResBlock(128), ResBlock(128),
                *_deconv_in_relu(128, 64),
                *_conv_in_relu(64, 64), ResBlock(64), ResBlock(64), *_deconv_in_relu(64, 32),
            )  # fmt: skip
            self.peb = PyramidEnhancement(32 + 3)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
                nn.init.zeros_(m.bias)

    def forward(self, feats: Tensor, stem: Tensor, image: Tensor) -> tuple[Tensor | None, Tensor]:
        if self.layout == "code":
            x = self.up(torch.cat([self.u1(feats), stem], 1))
            coarse = (torch.tanh(self.head(x)) + 1) / 2
            return coarse, self.peb(torch.cat([image, coarse], 1))
        return None, self.peb(torch.cat([self.up(feats), image], 1))


class SJDL(nn.Module):
    """CFSM + ReIDM (+ FIRM in training). Images (B, 3, H, W) in [0, 1], H, W divisible by 32.

    The embedding is GAP + BN-neck (no projection), so `backbone.embed_dim` must equal the trunk
    width (`reid.models.trunks.Trunk.channels`): 512 for resnet18/34, 2048 for resnet50, 1280 for
    mobilenetv2. One identity classifier covers the synthetic
    and the "real" training identities (disjoint label ranges; see `reid.data.fog_streams`).
    """

    def __init__(self, backbone: BackboneConfig, cfg: SJDLConfig, num_ids: int = 0) -> None:
        super().__init__()
        parts = trunk(backbone)
        self.dim = parts.channels
        if backbone.embed_dim != self.dim:
            raise ConfigError(
                f"sjdl embeds with the {backbone.arch} trunk width: set "
                f"model.backbone.embed_dim: {self.dim} (got {backbone.embed_dim})"
            )
        self.normalize = ImageNetNormalize()
        layers, cut = parts.layers, parts.stem_end
        self.stem, self.layer1, self.reidm = layers[:cut], layers[cut], layers[cut + 1 :]
        self.neck = nn.BatchNorm1d(self.dim)
        self.neck.bias.requires_grad_(False)  # BN-neck: scale only, shift fixed at 0
        self.classifier = nn.Linear(self.dim, num_ids, bias=False) if num_ids > 0 else None
        if self.classifier is not None:
            nn.init.normal_(self.classifier.weight, std=0.001)
        self.firm = FIRM(parts.early_channels, parts.stem_channels, cfg.firm)
        self.frozen_bn = backbone.weights is not None and backbone.freeze_bn

    def train(self, mode: bool = True) -> SJDL:
        super().train(mode)
        if self.frozen_bn:
            for block in (self.stem, self.layer1, self.reidm):
                freeze_batchnorm(block)
        return self

    def _cfsm(self, images: Tensor) -> tuple[Tensor, Tensor]:
        stem = self.stem(self.normalize(images))
        return stem, self.layer1(stem)

    def _reidm(self, feats: Tensor) -> Tensor:
        return self.neck(self.reidm(feats).mean((2, 3)))

    def forward(self, images: Tensor) -> SJDLOutput:
        """Training graph: both branches. Images (B, 3, H, W) in [0, 1]."""
        stem, feats = self._cfsm(images)
        bn = self._reidm(feats)
        coarse, defogged = self.firm(feats, stem, images)
        logits = self.classifier(bn) if self.classifier is not None else None
        return SJDLOutput(F.normalize(bn, dim=1), logits, defogged, coarse)

    def embed(self, images: Tensor) -> Tensor:
        """Inference, CFSM + ReIDM only: (B, 3, H, W) in [0, 1] -> (B, D) unit-norm BN-neck."""
        return F.normalize(self._reidm(self._cfsm(images)[1]), dim=1)

    def defog(self, images: Tensor) -> Tensor:
        """The defogging branch alone ("defog then ReID"): (B, 3, H, W) -> same shape, [0, 1]."""
        stem, feats = self._cfsm(images)
        return self.firm(feats, stem, images)[1]
