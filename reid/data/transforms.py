"""Training transforms: geometric augmentation on (B, 3, H, W) float RGB in [0, 1], low light on
uint8 images through `reid.degrade` (the same code the evaluation uses).

Resizing happens once, when images are cached (`reid.data.datasets.cache_images`), and in the
embedder; ImageNet normalisation happens only inside the backbone's forward (methods.md §0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from reid import degrade
from reid.config import require
from reid.fog import SYNTHETIC_FOG, add_fog

IMAGENET_MEAN = (0.485, 0.456, 0.406)
LOW_LIGHT_GAIN = (0.02, 0.3)  # linear-light gain range of the low-light variant


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip
    pad: int = 10  # zero-pad by this many pixels, then crop back at a random offset
    erase: float = 0.5  # probability of random erasing (filled with the ImageNet mean)
    erase_area: tuple[float, float] = (0.02, 0.4)  # erased fraction of the image
    low_light: float = 0.0  # probability of replacing an image by a random low-light version
    # probability of replacing an image by a random night street-camera picture (`NIGHT_CAMERA`)
    night_camera: float = 0.0
    fog: float = 0.0  # probability of synthetic fog on an image (`reid.fog.SYNTHETIC_FOG`)
    dark_fraction: float = 0.1  # paper protocol: this fixed fraction of the train images ...
    dark_factor: float = 0.3  # ... is multiplied by this factor once (methods.md §1.8)
    # new cameras see vehicles at other sizes and colours: with probability `rescale` an image is
    # shrunk by a factor ~ U(scale) and enlarged back (a smaller crop's detail) ...
    rescale: float = 0.0
    scale: tuple[float, float] = (0.35, 1.0)
    # ... and with probability `color` its brightness is multiplied by ~ LogU(brightness), its
    # contrast and saturation by ~ U(1 - jitter, 1 + jitter)
    color: float = 0.0
    brightness: tuple[float, float] = (0.5, 1.5)
    jitter: float = 0.3

    def __post_init__(self) -> None:
        for name in ("flip", "erase", "low_light", "night_camera", "fog", "dark_fraction",
                     "rescale", "color"):
            require(0.0 <= getattr(self, name) <= 1.0, f"augment.{name} must be in [0, 1]")
        require(self.pad >= 0, "augment.pad must be >= 0")
        lo, hi = self.erase_area
        require(0.0 < lo <= hi < 1.0, "augment.erase_area must be 0 < lo <= hi < 1")
        require(0.0 < self.dark_factor <= 1.0, "augment.dark_factor must be in (0, 1]")
        require(0.0 < self.scale[0] <= self.scale[1] <= 1.0,
                "augment.scale must be 0 < lo <= hi <= 1")
        require(0.0 < self.brightness[0] <= self.brightness[1],
                "augment.brightness must be 0 < lo <= hi")
        require(0.0 <= self.jitter < 1.0, "augment.jitter must be in [0, 1)")


def darkened_subset(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Boolean mask picking round(fraction * n) of n images with a fixed seed (the paper's
    "darker" split; the same for every method that uses the same list and seed)."""
    mask = np.zeros(n, bool)
    count = round(fraction * n)
    mask[np.random.default_rng(seed).permutation(n)[:count]] = True
    return mask


def random_low_light(
    images: np.ndarray,
    p: float,
    generator: torch.Generator,
    gain: tuple[float, float] = LOW_LIGHT_GAIN,
) -> np.ndarray:
    """Replace each (N, H, W, 3) uint8 image, with probability `p`, by `reid.degrade.low_light`
    (gamma 2.2, gain ~ LogUniform(`gain`), Poisson-Gaussian noise; methods.md §2.3 mode 3)."""
    out = images.copy()
    picked = (torch.rand(len(images), generator=generator) < p).nonzero().flatten().tolist()
    if picked:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        for i in picked:
            g = float(np.exp(rng.uniform(np.log(gain[0]), np.log(gain[1]))))
            out[i] = degrade.low_light(images[i], g, rng)
    return out


# A street camera at night (`reid.degrade.low_light` with its optional steps), each draw uniform
# in its range, log-uniform for gain and read noise: from a lit street to a dim one through a
# small noisy sensor (read noise up to 3x `low_light`'s), optics from sharp to soft, colour from
# kept to mostly lost, white balance from orange (sodium light) to blue (LED, or an IR-cut
# camera's grey cast).
NIGHT_CAMERA = {"gain": (0.02, 0.3), "shot_noise": (1e-4, 4e-3), "read_noise": (1e-3, 3e-2),
                "blur_sigma": (0.0, 1.2), "saturation": (0.3, 1.0), "blue_cast": (-0.1, 0.12)}


def random_night_camera(images: np.ndarray, p: float, generator: torch.Generator) -> np.ndarray:
    """Replace each (N, H, W, 3) RGB uint8 image, with probability `p`, by a night street-camera
    picture of it: `reid.degrade.low_light` with every setting drawn from `NIGHT_CAMERA`.
    At p = 0 nothing is drawn: recipes without it keep their random stream."""
    if p <= 0:
        return images
    out = images.copy()
    picked = (torch.rand(len(images), generator=generator) < p).nonzero().flatten().tolist()
    if picked:
        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
        log = ("gain", "read_noise")
        for i in picked:
            draw = {k: float(np.exp(rng.uniform(*np.log(r))) if k in log else rng.uniform(*r))
                    for k, r in NIGHT_CAMERA.items()}
            gain = draw.pop("gain")
            out[i] = degrade.low_light(images[i][..., ::-1], gain, rng, **draw)[..., ::-1]  # BGR
    return out


def random_fog(images: Tensor, p: float, generator: torch.Generator) -> Tensor:
    """Each image of a (B, 3, H, W) float batch in [0, 1], with probability `p`, through
    `reid.fog.add_fog` at the synthetic ranges (the paper's FVRID_Syn; `REAL_FOG` stays for
    evaluation). At p = 0 nothing is drawn."""
    if p <= 0:
        return images
    picked = (torch.rand(len(images), generator=generator) < p).nonzero().flatten()
    out = images.clone()
    if len(picked):
        out[picked] = add_fog(images[picked], SYNTHETIC_FOG, generator)
    return out


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator)


def rescale(images: Tensor, p: float, scale: tuple[float, float], generator: torch.Generator
            ) -> Tensor:
    """Each image, with probability `p`, shrunk by a factor ~ U(`scale`) and enlarged back."""
    b, _, h, w = images.shape
    factors = _uniform(b, *scale, generator).tolist()
    out = images.clone()
    for i in (torch.rand(b, generator=generator) < p).nonzero().flatten().tolist():
        size = (max(4, round(h * factors[i])), max(4, round(w * factors[i])))
        small = F.interpolate(images[i : i + 1], size=size, mode="area")
        out[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    return out


def color_jitter(images: Tensor, cfg: AugmentConfig, generator: torch.Generator) -> Tensor:
    """Each image, with probability `cfg.color`: brightness x LogU(`cfg.brightness`), contrast
    and saturation x U(1 -+ `cfg.jitter`) around its mean / its grey, clipped to [0, 1]."""
    b = images.shape[0]
    picked = (torch.rand(b, generator=generator) < cfg.color).float().view(b, 1, 1, 1)
    lo, hi = np.log(cfg.brightness[0]), np.log(cfg.brightness[1])
    gain = torch.exp(_uniform(b, lo, hi, generator)).view(b, 1, 1, 1)
    contrast = _uniform(b, 1 - cfg.jitter, 1 + cfg.jitter, generator).view(b, 1, 1, 1)
    saturation = _uniform(b, 1 - cfg.jitter, 1 + cfg.jitter, generator).view(b, 1, 1, 1)
    x = images * gain
    x = x.mean(dim=(1, 2, 3), keepdim=True) + contrast * (x - x.mean(dim=(1, 2, 3), keepdim=True))
    grey = x.mean(dim=1, keepdim=True)
    x = (grey + saturation * (x - grey)).clamp(0.0, 1.0)
    return picked * x + (1 - picked) * images


def augment(images: Tensor, cfg: AugmentConfig, generator: torch.Generator) -> Tensor:
    """Training augmentation of a float batch: rescale, colour, flip, pad-crop, random erasing."""
    out = images
    if cfg.rescale:
        out = rescale(out, cfg.rescale, cfg.scale, generator)
    if cfg.color:
        out = color_jitter(out, cfg, generator)
    out = out.clone()
    b, _, h, w = out.shape
    flip = torch.rand(b, generator=generator) < cfg.flip
    out[flip] = out[flip].flip(-1)
    if cfg.pad:
        padded = torch.nn.functional.pad(out, [cfg.pad] * 4)
        dy = torch.randint(2 * cfg.pad + 1, (b,), generator=generator).tolist()
        dx = torch.randint(2 * cfg.pad + 1, (b,), generator=generator).tolist()
        out = torch.stack(
            [
                padded[i, :, y : y + h, x : x + w]
                for i, (y, x) in enumerate(zip(dy, dx, strict=True))
            ]
        )
    for i in (torch.rand(b, generator=generator) < cfg.erase).nonzero().flatten().tolist():
        _erase(out[i], cfg.erase_area, generator)
    return out


def _erase(image: Tensor, area: tuple[float, float], generator: torch.Generator) -> None:
    """Fill one random rectangle of `image` (in place) with the ImageNet mean colour."""
    _, h, w = image.shape
    u = torch.rand(3, generator=generator).tolist()
    frac = area[0] + (area[1] - area[0]) * u[0]
    aspect = float(np.exp(np.log(0.3) + (np.log(3.3) - np.log(0.3)) * u[1]))
    eh = min(h, max(1, round((frac * h * w * aspect) ** 0.5)))
    ew = min(w, max(1, round((frac * h * w / aspect) ** 0.5)))
    y = int(u[2] * (h - eh + 1))
    x = int(torch.randint(w - ew + 1, (1,), generator=generator))
    image[:, y : y + eh, x : x + ew] = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
