"""SJDL defogging losses (methods.md §3.2): supervised L2 and the four unsupervised priors.

All images are (B, 3, H, W) float in [0, 1]. The dark-channel and total-variation terms are
per-image sums (which is what λ2 = λ3 = 1e-5 is scaled for) normalised to a 384² reference, so
the weights do not depend on the training resolution (S6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from reid.config import require

REFERENCE_SIZE = 384  # the paper's input side; DC/TV sums and the DC patch are scaled to it
HIST_BINS = 256


@dataclass(frozen=True)
class SJDLLossConfig:
    lambda1: float = 1.0  # supervised L2 to the clean image (L_DFs)
    lambda2: float = 1e-5  # dark channel (L_DC)
    lambda3: float = 1e-5  # total variation (L_TV)
    lambda4: float = 300.0  # Fourier self-constraint (L_SC); the released code used 0.01 (S9)
    ce_per_channel: bool = False  # colour entropy per RGB channel instead of on the channel mean
    unsupervised: bool = True  # False: no defogging loss on "real" batches (JDL, supervised only)

    def __post_init__(self) -> None:
        for name in ("lambda1", "lambda2", "lambda3", "lambda4"):
            require(getattr(self, name) >= 0, f"loss.sjdl.{name} must be >= 0")


def defog_l2(refined: Tensor, clean: Tensor, coarse: Tensor | None = None) -> Tensor:
    """L_DFs: MSE to the clean image, averaged over the coarse and refined outputs (S3)."""
    if coarse is None:
        return F.mse_loss(refined, clean)
    return 0.5 * (F.mse_loss(coarse, clean) + F.mse_loss(refined, clean))


def soft_histogram(values: Tensor) -> Tensor:
    """(N, P) intensities in [0, 255] -> (N, 256) Laplace-smoothed histograms summing to 1.

    Each value splits unit mass linearly between bins floor(v) and floor(v) + 1 (a triangular
    kernel), so the histogram is differentiable in v almost everywhere (S5).
    """
    values = values.clamp(0, HIST_BINS - 1)
    low = values.detach().floor()
    frac = values - low
    low_bin = low.long()
    high_bin = (low_bin + 1).clamp(max=HIST_BINS - 1)
    counts = values.new_zeros(values.shape[0], HIST_BINS)
    counts = counts.scatter_add(1, low_bin, 1 - frac).scatter_add(1, high_bin, frac)
    return (counts + 1) / (values.shape[1] + HIST_BINS)


def colour_entropy_loss(images: Tensor, per_channel: bool = False) -> Tensor:
    """L_CE = Σ_k H_k log H_k (negative entropy, S4), batch mean; minimising raises contrast.

    The histogram is of 255 · mean_c(J), or of each channel with `per_channel` (averaged).
    """
    b = images.shape[0]
    values = 255 * (images.flatten(2) if per_channel else images.mean(1).flatten(1))
    hist = soft_histogram(values.reshape(-1, values.shape[-1]))
    return (hist * hist.log()).sum(1).reshape(b, -1).mean()


def dark_channel_patch(height: int) -> int:
    """Odd dark-channel patch side scaled from 35 at 384 px: 11 at 128, 23 at 256 (S7)."""
    return 2 * int(35 * height / (2 * REFERENCE_SIZE)) + 1


def dark_channel(images: Tensor, patch: int) -> Tensor:
    """(B, 3, H, W) -> (B, 1, H, W): min over colour channels and the patch x patch window."""
    darkest = images.amin(1, keepdim=True)
    return -F.max_pool2d(-darkest, patch, stride=1, padding=patch // 2)


def dark_channel_loss(images: Tensor) -> Tensor:
    """L_DC: per-image sum of the dark channel, scaled to a 384² image, batch mean."""
    dc = dark_channel(images, dark_channel_patch(images.shape[-2]))
    return dc.mean() * REFERENCE_SIZE**2


def total_variation_loss(images: Tensor) -> Tensor:
    """L_TV: per-image sum of |forward differences| in x and y, scaled to 3 x 384², batch mean."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return (dx + dy) * 3 * REFERENCE_SIZE**2


def self_constraint_loss(output: Tensor, reference: Tensor, eps: float = 1e-8) -> Tensor:
    """L_SC = -mean over (b, c, u, v) of cos(φ_output - φ_reference) of the 2-D spectra (S8).

    Per-frequency phase cosine, so it is -1 for output = reference and invariant to scaling
    either image by c > 0. (The literal flattened-spectrum cosine equals the pixel-space cosine by
    Parseval and would not isolate phase.) `eps` keeps gradients finite at zero-magnitude bins.
    """
    fo = torch.fft.fft2(output.float())
    fr = torch.fft.fft2(reference.float())
    dot = fo.real * fr.real + fo.imag * fr.imag
    mag_o = (fo.real.square() + fo.imag.square() + eps).sqrt()
    mag_r = (fr.real.square() + fr.imag.square() + eps).sqrt()
    return -(dot / (mag_o * mag_r + eps)).mean()


def unsupervised_defog_losses(
    defogged: Tensor, foggy: Tensor, cfg: SJDLLossConfig
) -> dict[str, Tensor]:
    """L_DFu as weighted named terms: colour entropy, dark channel, total variation, L_SC."""
    return {
        "colour_entropy": colour_entropy_loss(defogged, cfg.ce_per_channel),
        "dark_channel": cfg.lambda2 * dark_channel_loss(defogged),
        "total_variation": cfg.lambda3 * total_variation_loss(defogged),
        "self_constraint": cfg.lambda4 * self_constraint_loss(defogged, foggy),
    }
