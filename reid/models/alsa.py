"""ALSA: adaptive low-light correction placed in front of the ReID embedding network.

Pipeline (methods.md §1.1; the paper's Eq. 9-11, Alg. 1-3), all images Bx3xHxW RGB in [0,1]::

    alpha = GCA(x)                                  Bx3x1x1, parameter-free (Alg. 2)
    x_m   = clamp(EN(x), 0, 1)                      EnlightenGAN-style generator (§1.2)
    beta  = SSA(x_m)                                Bx3x1x1 (Alg. 1)
    y     = alpha*x + (1-alpha)*(beta*x_m + x_m)    Eq. 11, clamped to [0,1]

Decisions (ambiguity register A1-A5, A12):

* A1: GCA and the fusion work on raw [0,1] RGB; the EN gets 2x-1 internally. ImageNet
  normalisation belongs to the backbone, not here.
* GCA: Alg. 2 sums the pooled values, `sigmoid(avg + max)`, while the prose says it takes "an
  average" of them. We follow Alg. 2. The prose's `sigmoid((avg+max)/2)` stays below
  sigmoid(1) ≈ 0.73, so t = 0.8 could never fire and Table 7's t sweep would mean nothing.
* A2: `"text"` mode sets alpha := 1 where a > t (strict), as the paper's prose and Alg. 2's comment
  state. `"torch_literal"` is `F.threshold(a, t, 1)`, which does the opposite (keeps a > t,
  sets the rest to 1). It is kept as an ablation switch.
* A4/A5: SSA total width 64 = 4 heads x 16, as in IAT's `Global_pred`. The query is learnable
  and starts at ones. LayerNorm on the tokens and 1/√C scaling are added. The output Linear
  starts at zero, so beta = 0 and SSA starts as the identity.
* The EN and SSA run only on the samples whose alpha < 1 in some channel. For the others
  y == x exactly, so skipping them changes nothing in eval mode. In train mode, SSA's BatchNorm
  (and the EN's, with `freeze_en=False`) takes its batch statistics from that dark sub-batch
  only. Those are the images whose corrections reach the output, and the only ones either
  module sees at inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.config import require
from reid.errors import CheckpointError

EN_FORMAT = "mcvrt-alsa-en/1"
DEFAULT_EN_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "alsa_en.pt"
GCA_MODES = ("text", "torch_literal")
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # Rec. 601 RGB -> luma


@dataclass(frozen=True)
class ALSAConfig:
    """ALSA hyper-parameters (methods.md §1.2-1.4); paper values by default, except `en_width`.

    `en_width` is the EN's base width w (channels w..16w); the paper's EnlightenGAN uses 32, the
    CPU configuration 8. `en_weights` is an EN file written by `reid.enlighten.train_enhancer`
    (None: random init, for tests only). `freeze_en` keeps the EN frozen and in eval mode.
    """

    en_width: int = 32
    en_weights: Path | None = None
    gca_threshold: float = 0.8
    gca_mode: str = "text"
    ssa_dim: int = 64
    ssa_heads: int = 4
    freeze_en: bool = True

    def __post_init__(self) -> None:
        require(self.en_width >= 1, f"alsa.en_width must be >= 1, got {self.en_width}")
        require(0.0 < self.gca_threshold <= 1.0, "alsa.gca_threshold must be in (0, 1]")
        require(self.gca_mode in GCA_MODES, f"alsa.gca_mode must be one of {GCA_MODES}")
        require(
            self.ssa_heads >= 1 and self.ssa_dim % (2 * self.ssa_heads) == 0,
            "alsa.ssa_dim must be a multiple of 2*ssa_heads",
        )


def luminance(x: Tensor) -> Tensor:
    """Rec. 601 luma of Bx3xHxW RGB -> Bx1xHxW."""
    w = x.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _unit(c_in: int, c_out: int) -> nn.Sequential:
    """EnlightenGAN conv unit: Conv3x3 -> LeakyReLU(0.2) -> BatchNorm (BN after the activation)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.BatchNorm2d(c_out),
    )


class _Up(nn.Module):
    """Decoder stage: bilinear x2 -> Conv3x3 (C -> C/2) -> concat(skip·g) -> unit(s)."""

    def __init__(self, c_in: int, tail: nn.Module) -> None:
        super().__init__()
        self.proj = nn.Conv2d(c_in, c_in // 2, 3, padding=1)
        self.tail = tail

    def forward(self, x: Tensor, skip: Tensor, g: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.tail(torch.cat([self.proj(x), skip * g], dim=1))


class EnhancementNet(nn.Module):
    """EnlightenGAN generator (`sid_unet_resize`: self-attention, times-residual, skip, BN).

    `forward(x)`: x Bx3xHxW in [0,1] -> enhanced Bx3xHxW in the [0,1] domain, unclamped (the
    generator's residual output y in [-1,1] terms, mapped back by (y+1)/2). Any H, W work: the
    input is reflect-padded to a multiple of 16 and the output cropped back.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = [width * 2**i for i in range(5)]  # w, 2w, 4w, 8w, 16w
        self.width = width
        self.enc = nn.ModuleList(
            [nn.Sequential(_unit(4, w[0]), _unit(w[0], w[0]))]
            + [nn.Sequential(_unit(w[i - 1], w[i]), _unit(w[i], w[i])) for i in range(1, 4)]
        )
        self.bottom_in, self.bottom_out = _unit(w[3], w[4]), _unit(w[4], w[4])
        self.dec = nn.ModuleList(
            [
                _Up(w[i + 1], nn.Sequential(_unit(w[i + 1], w[i]), _unit(w[i], w[i])))
                for i in (3, 2, 1)
            ]
            + [
                _Up(
                    w[1],
                    nn.Sequential(
                        _unit(w[1], w[0]),
                        nn.Conv2d(w[0], w[0], 3, padding=1),
                        nn.LeakyReLU(0.2, inplace=True),
                    ),
                )
            ]
        )
        self.head = nn.Conv2d(w[0], 3, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        ph, pw = -h % 16, -w % 16
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        g = [1.0 - luminance(x)]  # illumination attention map, dark pixels -> large g
        for _ in range(4):
            g.append(F.max_pool2d(g[-1], 2))
        xs = 2.0 * x - 1.0
        skips, feat = [], torch.cat([xs, g[0]], dim=1)
        for stage in self.enc:
            feat = stage(feat)
            skips.append(feat)
            feat = F.max_pool2d(feat, 2)
        feat = self.bottom_out(self.bottom_in(feat) * g[4])
        for up, level in zip(self.dec, (3, 2, 1, 0), strict=True):
            feat = up(feat, skips[level], g[level])
        y = self.head(feat) * g[0] + xs
        return ((y + 1.0) / 2.0)[..., :h, :w]


def threshold_alpha(a: Tensor, t: float, mode: str = "text") -> Tensor:
    """GCA's threshold step on a = sigmoid(avg + max) (any shape).

    "text": alpha = 1 where a > t, else a (the paper's stated rule).
    "torch_literal": `F.threshold(a, t, 1)`, i.e. keep a where a > t, else 1.
    """
    if mode == "text":
        return torch.where(a > t, torch.ones_like(a), a)
    if mode == "torch_literal":
        return F.threshold(a, t, 1.0)
    raise ValueError(f"unknown GCA mode {mode!r}; expected one of {GCA_MODES}")


class GCA(nn.Module):
    """Global channel attention (Alg. 2), parameter-free: Bx3xHxW [0,1] -> alpha Bx3x1x1."""

    def __init__(self, threshold: float = 0.8, mode: str = "text") -> None:
        super().__init__()
        self.threshold, self.mode = threshold, mode

    def forward(self, x: Tensor) -> Tensor:
        a = torch.sigmoid(x.mean(dim=(2, 3), keepdim=True) + x.amax(dim=(2, 3), keepdim=True))
        return threshold_alpha(a, self.threshold, self.mode)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, mode={self.mode!r}"


class SSA(nn.Module):
    """Spatial self-attention (Alg. 1): EN output Bx3xHxW -> per-channel gain beta Bx3x1x1.

    Two stride-2 convs embed the image into N = ⌈H/4⌉·⌈W/4⌉ tokens of width `dim`. A learnable
    query of ones (per head) attends over them; a zero-initialised Linear maps the result to beta.
    """

    def __init__(self, dim: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.embed = nn.Sequential(
            nn.Conv2d(3, dim // 2, 3, stride=2, padding=1),
            nn.BatchNorm2d(dim // 2),
            nn.GELU(),
            nn.Conv2d(dim // 2, dim, 3, stride=2, padding=1),
            nn.BatchNorm2d(dim),
        )
        self.norm = nn.LayerNorm(dim)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.query = nn.Parameter(torch.ones(1, heads, 1, self.head_dim))
        self.out = nn.Linear(dim, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.norm(self.embed(x).flatten(2).transpose(1, 2))  # BxNxD
        b, n, _ = tokens.shape
        k = self.k(tokens).view(b, n, self.heads, self.head_dim).transpose(1, 2)  # BxhxNxC
        v = self.v(tokens).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        attn = torch.softmax(self.query @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)
        ctx = (attn @ v).reshape(b, -1)  # Bx(h·C), heads concatenated
        return self.out(ctx).view(b, 3, 1, 1)


@dataclass(frozen=True)
class ALSAOutput:
    """One ALSA pass. `image`, `alpha` cover the whole batch. `index` lists the samples that ran
    the EN, and `enhanced` (clamped EN output) and `beta` hold those samples only."""

    image: Tensor  # Bx3xHxW in [0,1]
    alpha: Tensor  # Bx3x1x1
    index: Tensor  # K (long), K <= B
    enhanced: Tensor  # Kx3xHxW in [0,1]
    beta: Tensor  # Kx3x1x1


def load_enhancer(path: str | Path, width: int | None = None) -> EnhancementNet:
    """Read an EN file written by `reid.enlighten` (format `EN_FORMAT`) into a new EnhancementNet.

    Raises CheckpointError if the file is missing, truncated, of another format, or its width
    differs from `width` (when given).
    """
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"EN weights not found: {path}") from None
    except Exception as exc:
        raise CheckpointError(f"cannot read EN weights {path} (truncated?): {exc}") from None
    if not isinstance(blob, dict) or blob.get("format") != EN_FORMAT:
        raise CheckpointError(f"{path} is not an EN weights file (format {EN_FORMAT})")
    if width is not None and blob["width"] != width:
        raise CheckpointError(f"{path} holds an EN of width {blob['width']}, config says {width}")
    net = EnhancementNet(blob["width"])
    try:
        net.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: EN weights do not match the network: {exc}") from None
    return net


class ALSACorrection(nn.Module):
    """The ALSA module: `forward(x)` maps Bx3xHxW RGB in [0,1] to the corrected Bx3xHxW in [0,1].

    Trainable parts: SSA (and the EN when `freeze_en` is false). `correct(x)` returns the same
    image plus the intermediate alpha / enhanced images / beta as an `ALSAOutput`.
    """

    def __init__(self, cfg: ALSAConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.en = (
            load_enhancer(cfg.en_weights, cfg.en_width)
            if cfg.en_weights
            else EnhancementNet(cfg.en_width)
        )
        self.gca = GCA(cfg.gca_threshold, cfg.gca_mode)
        self.ssa = SSA(cfg.ssa_dim, cfg.ssa_heads)
        if cfg.freeze_en:
            self.en.requires_grad_(False)
            self.en.eval()

    def train(self, mode: bool = True) -> ALSACorrection:
        """Like nn.Module.train, but a frozen EN stays in eval mode (fixed BN statistics)."""
        super().train(mode)
        if self.cfg.freeze_en:
            self.en.eval()
        return self

    def correct(self, x: Tensor) -> ALSAOutput:
        """Eq. 9-11 with the EN/SSA run only on samples whose alpha < 1 in some channel."""
        alpha = self.gca(x)
        index = (alpha < 1).flatten(1).any(dim=1).nonzero().flatten()
        if index.numel() == 0:
            empty = x.new_zeros((0, 3, 1, 1))
            return ALSAOutput(x, alpha, index, x[:0], empty)
        x_dark = x[index]
        enhanced = self.en(x_dark).clamp(0.0, 1.0)
        beta = self.ssa(enhanced)
        a = alpha[index]
        fused = (a * x_dark + (1.0 - a) * (1.0 + beta) * enhanced).clamp(0.0, 1.0)
        return ALSAOutput(x.index_copy(0, index, fused), alpha, index, enhanced, beta)

    def forward(self, x: Tensor) -> Tensor:
        return self.correct(x).image
