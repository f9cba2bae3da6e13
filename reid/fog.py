"""Fog on (B, 3, H, W) RGB batches in [0, 1]: the synthetic stream and a "real" stand-in.

Atmospheric scattering `I = J·t + A·(1 - t)`, `t = exp(-β·d)`, with the network-free pseudo-depth
of `reid.degrade.pseudo_depth` computed on the clean image J (methods.md §3.5). It runs after the
training augmentation, so a foggy image and its clean target are always aligned (S15).
(`reid.degrade.fog` is the one-image uint8 form with a scalar β and grey A; this batched form
also takes the β fields and tinted airlight of the "real" stand-in.)

There is **no real foggy vehicle data here.** SJDL's unsupervised stage needs real foggy images
(FVRID_Real in the paper); `REAL_FOG` stands in for them: a second generator with a deliberate
domain gap (spatially varying β, slightly coloured airlight, blur, JPEG artefacts), applied to
held-out identities whose clean images never reach the loss. Every random draw comes from the
caller's `torch.Generator`, so a seed fixes the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from torch import Tensor
from torchvision.io import decode_jpeg, encode_jpeg

from reid.config import require
from reid.degrade import DEPTH_MIN_RANGE, FOG_AIRLIGHT_RANGE, FOG_BETA_RANGE, pseudo_depth

DEPTH_MODES = ("cap_ramp", "ramp", "constant")
CONSTANT_DEPTH_RANGE = (0.5, 1.0)  # homogeneous-fog control: d ≡ U[0.5, 1] per image
BETA_FIELD_GRID = 4  # the β modulation is a bilinear-upsampled 4 x 4 random field


@dataclass(frozen=True)
class FogConfig:
    """Fog parameters, drawn per image; the domain-gap knobs are off by default."""

    beta_range: tuple[float, float] = FOG_BETA_RANGE  # scattering coefficient β
    airlight_range: tuple[float, float] = FOG_AIRLIGHT_RANGE  # grey airlight A
    depth: str = "cap_ramp"  # pseudo-depth: "cap_ramp", "ramp", or "constant" (homogeneous)
    beta_field: float = 0.0  # relative amplitude of a low-frequency β modulation (±)
    airlight_tint: float = 0.0  # per-channel relative jitter of A (coloured airlight)
    blur_sigma: tuple[float, float] = (0.0, 0.0)  # Gaussian blur sigma in pixels
    jpeg_quality: tuple[int, int] | None = None  # JPEG round trip at a quality in this range

    def __post_init__(self) -> None:
        require(self.depth in DEPTH_MODES, f"fog.depth must be one of {DEPTH_MODES}")
        for name, lo_ok in (("beta_range", 0.0), ("airlight_range", 0.0), ("blur_sigma", 0.0)):
            lo, hi = getattr(self, name)
            require(lo_ok <= lo <= hi, f"fog.{name} must be {lo_ok} <= lo <= hi")
        require(self.airlight_range[1] <= 1.0, "fog.airlight_range must lie in [0, 1]")
        require(0.0 <= self.beta_field < 1.0, "fog.beta_field must be in [0, 1)")
        require(0.0 <= self.airlight_tint < 1.0, "fog.airlight_tint must be in [0, 1)")
        if self.jpeg_quality is not None:
            lo, hi = self.jpeg_quality
            require(1 <= lo <= hi <= 100, "fog.jpeg_quality must be 1 <= lo <= hi <= 100")


SYNTHETIC_FOG = FogConfig()  # the paper's FVRID_Syn ranges: β ~ U[0.4, 1.6], A ~ U[0.5, 1]
DENSE_FOG = FogConfig(beta_range=(1.0, 5.0), airlight_range=(0.4, 1.0))  # released "Dense_Foggy"
REAL_FOG = FogConfig(  # stand-in for real fog (there is none here): the §3.5 domain gap
    airlight_range=(0.6, 1.0),
    beta_field=0.4,
    airlight_tint=0.05,
    blur_sigma=(0.0, 1.5),
    jpeg_quality=(40, 80),
)
FOG_PRESETS = {"synthetic": SYNTHETIC_FOG, "dense": DENSE_FOG, "real": REAL_FOG}


def _uniform(lo_hi: tuple[float, float], shape: tuple[int, ...], gen: torch.Generator) -> Tensor:
    return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * torch.rand(shape, generator=gen)


def _depth(clean: Tensor, d_min: Tensor, gen: torch.Generator, mode: str) -> Tensor:
    """(B, 3, H, W) clean images -> (B, 1, H, W) normalised depth (1 = far)."""
    if mode == "constant":
        b = clean.shape[0]
        return _uniform(CONSTANT_DEPTH_RANGE, (b, 1, 1, 1), gen).expand(-1, 1, *clean.shape[-2:])
    pixels = (clean.detach().cpu() * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    maps = [pseudo_depth(img.numpy(), float(lo), mode)
            for img, lo in zip(pixels, d_min, strict=True)]
    return torch.from_numpy(np.stack(maps)).unsqueeze(1)


def add_fog(clean: Tensor, cfg: FogConfig, generator: torch.Generator) -> Tensor:
    """(B, 3, H, W) clean RGB in [0, 1] -> foggy (B, 3, H, W) in [0, 1], deterministic per seed.

    The random draws happen on the CPU (`generator` is a CPU generator); `clean` may be anywhere.

    Draws per image d_min ~ U[0.2, 0.4], β, A, the β field, the airlight tint, the blur sigma and
    the JPEG quality (always all of them, in that order, so one seed gives the same fog whatever
    the ranges). Larger β moves every pixel closer to A.
    """
    b, _, h, w = clean.shape
    d_min = _uniform(DEPTH_MIN_RANGE, (b,), generator)
    beta = _uniform(cfg.beta_range, (b, 1, 1, 1), generator)
    field = _uniform((-1.0, 1.0), (b, 1, BETA_FIELD_GRID, BETA_FIELD_GRID), generator)
    airlight = _uniform(cfg.airlight_range, (b, 1, 1, 1), generator)
    tint = _uniform((-1.0, 1.0), (b, 3, 1, 1), generator)
    sigma = _uniform(cfg.blur_sigma, (b,), generator)
    quality = _uniform(cfg.jpeg_quality or (100, 100), (b,), generator).round().int()

    field = F.interpolate(field, size=(h, w), mode="bilinear", align_corners=True)
    beta = beta * (1 + cfg.beta_field * field)
    airlight = (airlight * (1 + cfg.airlight_tint * tint)).clamp(0, 1)
    t = torch.exp(-beta * _depth(clean, d_min, generator, cfg.depth)).to(clean)
    foggy = clean * t + airlight.to(clean) * (1 - t)
    if cfg.blur_sigma[1] > 0:
        foggy = torch.stack([_blur(img, float(s)) for img, s in zip(foggy, sigma, strict=True)])
    if cfg.jpeg_quality is not None:
        foggy = torch.stack([_jpeg(img, int(q)) for img, q in zip(foggy, quality, strict=True)])
    return foggy.clamp(0, 1)


def _blur(image: Tensor, sigma: float) -> Tensor:
    if sigma < 0.1:  # a kernel this narrow is the identity in 8-bit terms
        return image
    size = 2 * int(3 * sigma + 0.5) + 1
    return TF.gaussian_blur(image, [size, size], [sigma, sigma])


def _jpeg(image: Tensor, quality: int) -> Tensor:
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    return decode_jpeg(encode_jpeg(pixels, quality=quality)).to(image) / 255


def fog_bgr(images: Sequence[np.ndarray], cfg: FogConfig, seed: int = 0) -> list[np.ndarray]:
    """BGR uint8 (h, w, 3) images of any sizes -> fogged copies, reproducibly for `seed`."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for image in images:
        rgb = torch.from_numpy(np.ascontiguousarray(image[..., ::-1])).permute(2, 0, 1)
        foggy = add_fog(rgb[None].float() / 255, cfg, gen)[0]
        pixels = (foggy * 255).round().byte().permute(1, 2, 0).numpy()
        out.append(np.ascontiguousarray(pixels[..., ::-1]))
    return out
