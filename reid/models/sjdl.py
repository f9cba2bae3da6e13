"""SJDL (Chen et al., AAAI 2022): a ReID network and a defogging branch sharing the early blocks.

    I ([0,1]) -> ImageNet-norm -> CFSM (stem + layer1) -> F_C -> ReIDM (layer2-4, GAP, BN-neck, FC)
                                                          \\-> FIRM(F_C, stem, I) -> J_coarse, J

The defogging branch (FIRM) only runs in `forward` (training); `embed` is CFSM + ReIDM, so
inference costs exactly what the plain backbone costs. Layout and decisions: methods.md §3.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from reid.config import require
from reid.errors import CheckpointError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKBONES = ("resnet18", "resnet34", "resnet50")
FIRM_LAYOUTS = ("code", "paper")


@dataclass(frozen=True)
class SJDLConfig:
    backbone: str = "resnet50"
    num_ids: int = 1  # synthetic-domain training identities (FC_syn)
    num_real_ids: int = 0  # "real"-domain training identities (FC_real); 0 = no real head
    pretrained: Path | None = None  # local torchvision state_dict for the backbone; never downloads
    firm: str = "code"  # "code": released layer list (default, S2); "paper": the paper's text

    def __post_init__(self) -> None:
        require(self.backbone in BACKBONES, f"model.backbone must be one of {BACKBONES}")
        require(self.firm in FIRM_LAYOUTS, f"model.firm must be one of {FIRM_LAYOUTS}")
        require(self.num_ids >= 1, "model.num_ids must be >= 1")
        require(self.num_real_ids >= 0, "model.num_real_ids must be >= 0")


@dataclass(frozen=True)
class SJDLOutput:
    embedding: Tensor  # (B, D) GAP feature before the BN-neck (logged; the code evaluates it)
    bn_embedding: Tensor  # (B, D) after the BN-neck: triplet loss and evaluation use this
    logits: Tensor  # (B, num_ids) synthetic-domain classifier
    logits_real: Tensor | None  # (B, num_real_ids) real-domain classifier, None without one
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

    def __init__(self, in_channels: int, width: int = 20, scales: tuple[int, ...] = (32, 16, 8, 4)):
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
            for s, conv in zip(self.scales, self.reduce)
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


def _out_channels(module: nn.Module) -> int:
    """Output channels of a torchvision ResNet block sequence: its last BatchNorm's width."""
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features


def _resnet(name: str, pretrained: Path | None) -> torchvision.models.ResNet:
    net = getattr(torchvision.models, name)(weights=None)
    if pretrained is not None:
        try:
            state = torch.load(pretrained, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"cannot load backbone weights {pretrained}: {exc}") from None
    return net


class SJDL(nn.Module):
    """CFSM + ReIDM (+ FIRM in training). Images (B, 3, H, W) in [0, 1], H, W divisible by 32."""

    def __init__(self, cfg: SJDLConfig) -> None:
        super().__init__()
        self.cfg = cfg
        net = _resnet(cfg.backbone, cfg.pretrained)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1 = net.layer1  # stem + layer1 = CFSM
        self.reidm = nn.Sequential(net.layer2, net.layer3, net.layer4)
        self.dim = _out_channels(net.layer4)
        self.neck = nn.BatchNorm1d(self.dim)
        self.neck.bias.requires_grad_(False)  # BN-neck: scale only, shift fixed at 0
        self.classifier = nn.Linear(self.dim, cfg.num_ids, bias=False)
        self.classifier_real = (
            nn.Linear(self.dim, cfg.num_real_ids, bias=False) if cfg.num_real_ids else None
        )
        for fc in (self.classifier, self.classifier_real):
            if fc is not None:
                nn.init.normal_(fc.weight, std=0.001)
        self.firm = FIRM(_out_channels(net.layer1), _out_channels(self.stem), cfg.firm)

    def _cfsm(self, images: Tensor) -> tuple[Tensor, Tensor]:
        stem = self.stem((images - self.mean) / self.std)
        return stem, self.layer1(stem)

    def _reidm(self, feats: Tensor) -> tuple[Tensor, Tensor]:
        pooled = self.reidm(feats).mean((2, 3))
        return pooled, self.neck(pooled)

    def forward(self, images: Tensor) -> SJDLOutput:
        """Training graph: both branches. Images (B, 3, H, W) in [0, 1]."""
        stem, feats = self._cfsm(images)
        pooled, bn = self._reidm(feats)
        coarse, defogged = self.firm(feats, stem, images)
        real = self.classifier_real(bn) if self.classifier_real is not None else None
        return SJDLOutput(pooled, bn, self.classifier(bn), real, defogged, coarse)

    def embed(self, images: Tensor) -> Tensor:
        """Inference, CFSM + ReIDM only: (B, 3, H, W) in [0, 1] -> (B, D) unit-norm BN-neck."""
        return F.normalize(self._reidm(self._cfsm(images)[1])[1], dim=1)

    def defog(self, images: Tensor) -> Tensor:
        """The defogging branch alone ("defog then ReID"): (B, 3, H, W) -> same shape, [0, 1]."""
        stem, feats = self._cfsm(images)
        return self.firm(feats, stem, images)[1]
