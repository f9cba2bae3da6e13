"""Unpaired low-light / normal-light image pools for training the EN (methods.md §2.3).

* normal: images in `normal_dirs` (optionally only the names in `normal_list`) with mean luma
  >= `min_normal_luma`, from one random half of the identities;
* low: the other half of the identities, darkened on the fly (`synthesize_low_light`), and/or
  real low-light crops from `low_dirs`. A real crop counts as low-light only if its mean luma is
  at most `real_low_max_luma`: above ≈ 0.39, with a saturated pixel, GCA sets alpha = 1 and the
  EN never sees the image.

The identity is the file stem without a trailing `_cam<k>` (the shared UIT naming
`{class}_{NNNN}_cam{k}.jpg`), so no image has a counterpart from the same vehicle on the other
side. Images stay in RAM as uint8 RGB arrays, with the short side resized to crop*8/7.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from reid.config import require
from reid.degrade import darken, low_light
from reid.models.alsa import LUMA_WEIGHTS

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass(frozen=True)
class EnlightenData:
    """Where the unpaired images come from and how they are cropped."""

    normal_dirs: tuple[Path, ...] = ()
    normal_list: Path | None = None  # keep only these file names (one per line)
    low_dirs: tuple[Path, ...] = ()  # real low-light crops
    synthetic_low: bool = True
    real_low_prob: float = 0.5  # chance a low sample is real when both kinds exist
    min_normal_luma: float = 0.35
    max_low_luma: float = 0.25  # synthetic low images end below this
    real_low_max_luma: float = 0.4
    min_side: int = 24  # skip smaller images
    crop: int = 96
    vflip: bool = True

    def __post_init__(self) -> None:
        require(bool(self.normal_dirs), "data.normal_dirs must name at least one folder")
        require(self.synthetic_low or bool(self.low_dirs), "data: no low-light source configured")
        require(self.crop % 16 == 0, f"data.crop must be a multiple of 16, got {self.crop}")


def mean_luma(img: np.ndarray) -> float:
    """Mean Rec. 601 luma of an HxWx3 RGB uint8 image, in [0, 1]."""
    return float((img.reshape(-1, 3) @ np.asarray(LUMA_WEIGHTS)).mean() / 255.0)


def synthesize_low_light(
    img: np.ndarray, rng: np.random.Generator, max_luma: float = 0.25
) -> np.ndarray:
    """Darken an HxWx3 uint8 image by one of methods.md §2.3's three modes, chosen uniformly.

    The modes are linear scale U[0.1, 0.4] (`degrade.darken`), gamma U[2, 3.5], and physical
    low light (`degrade.low_light`: gain LogUniform[0.02, 0.3], shot noise U[1e-4, 2e-3], read
    noise U[1e-3, 1e-2]; the optional colour cast is left out). It redraws until the mean luma
    is below `max_luma` (8 tries), then rescales the last draw. All modes treat the channels
    alike, so RGB and BGR both work.
    """
    for _ in range(8):
        mode = rng.integers(3)
        if mode == 0:
            out = darken(img, rng.uniform(0.1, 0.4))
        elif mode == 1:
            out = np.rint((img / 255.0) ** rng.uniform(2.0, 3.5) * 255).astype(np.uint8)
        else:
            gain = float(np.exp(rng.uniform(np.log(0.02), np.log(0.3))))
            shot, read = rng.uniform(1e-4, 2e-3), rng.uniform(1e-3, 1e-2)
            out = low_light(img, gain, rng, shot_noise=shot, read_noise=read)
        luma = mean_luma(out)
        if luma < max_luma:
            return out
    return darken(out, 0.9 * max_luma / luma)


def to_batch(images: list[np.ndarray]) -> Tensor:
    """HxWx3 uint8 arrays -> Bx3xHxW float in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


class ImagePool:
    """RGB uint8 images; `draw` gives a random crop x crop x 3 crop with random flips."""

    def __init__(self, images: list[np.ndarray], crop: int, vflip: bool) -> None:
        self.images, self.crop, self.vflip = images, crop, vflip

    def __len__(self) -> int:
        return len(self.images)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        img = self.images[rng.integers(len(self.images))]
        top = rng.integers(img.shape[0] - self.crop + 1)
        left = rng.integers(img.shape[1] - self.crop + 1)
        x = img[top : top + self.crop, left : left + self.crop]
        if rng.random() < 0.5:
            x = x[:, ::-1]
        if self.vflip and rng.random() < 0.5:
            x = x[::-1]
        return np.ascontiguousarray(x)


def _load_images(paths: list[Path], cfg: EnlightenData) -> list[tuple[Path, np.ndarray]]:
    """Read RGB uint8 images, drop those below `min_side`, resize the short side to crop*8/7."""
    size = round(cfg.crop * 8 / 7)
    out = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < cfg.min_side:
            continue
        scale = size / min(img.shape[:2])
        wh = (max(size, round(img.shape[1] * scale)), max(size, round(img.shape[0] * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        img = cv2.resize(img, wh, interpolation=interp)
        out.append((p, cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
    return out


def _list_images(dirs: tuple[Path, ...], names: set[str] | None = None) -> list[Path]:
    files = (p for d in dirs for p in sorted(Path(d).iterdir()))
    ok = (p for p in files if p.suffix.lower() in _IMAGE_SUFFIXES)
    return [p for p in ok if names is None or p.name in names]


def _identity(path: Path) -> str:
    return re.sub(r"_cam\d+$", "", path.stem)


class UnpairedData:
    """The normal pool, the synthetic-low source pool and the real-low pool (either may be None)."""

    def __init__(self, cfg: EnlightenData, rng: np.random.Generator) -> None:
        self.cfg = cfg
        names = set(Path(cfg.normal_list).read_text().split()) if cfg.normal_list else None
        loaded = _load_images(_list_images(cfg.normal_dirs, names), cfg)
        ids = sorted({_identity(p) for p, _ in loaded})
        perm = rng.permutation(len(ids))
        low_ids = {ids[i] for i in perm[: len(ids) // 2]} if cfg.synthetic_low else set()
        normal = [im for p, im in loaded if _identity(p) not in low_ids]
        normal = [im for im in normal if mean_luma(im) >= cfg.min_normal_luma]
        syn = [im for p, im in loaded if _identity(p) in low_ids]
        real = [im for _, im in _load_images(_list_images(cfg.low_dirs), cfg)]
        real = [im for im in real if mean_luma(im) <= cfg.real_low_max_luma]
        require(bool(normal), "no normal-light training images found")
        require(bool(syn) or bool(real), "no low-light training images found")
        self.normal = ImagePool(normal, cfg.crop, cfg.vflip)
        self.syn = ImagePool(syn, cfg.crop, cfg.vflip) if syn else None
        self.real = ImagePool(real, cfg.crop, cfg.vflip) if real else None

    def sizes(self) -> dict[str, int]:
        return {
            "normal": len(self.normal),
            "synthetic_low": len(self.syn or []),
            "real_low": len(self.real or []),
        }

    def normal_batch(self, rng: np.random.Generator, n: int) -> Tensor:
        """n x 3 x crop x crop normal-light crops in [0, 1]."""
        return to_batch([self.normal.draw(rng) for _ in range(n)])

    def low_batch(self, rng: np.random.Generator, n: int) -> Tensor:
        """n x 3 x crop x crop low-light crops: real with probability `real_low_prob`, else
        synthetic."""
        real_prob = self.cfg.real_low_prob if self.syn else 1.0
        samples = []
        for _ in range(n):
            if self.real is not None and rng.random() < real_prob:
                samples.append(self.real.draw(rng))
            else:
                samples.append(synthesize_low_light(self.syn.draw(rng), rng, self.cfg.max_low_luma))
        return to_batch(samples)

    def monitor_pairs(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        """Fixed (low, normal) synthetic pairs, n x 3 x crop x crop each, for monitoring only.
        They come from the synthetic-low identities, which are never shown as normal images."""
        rng = np.random.default_rng(seed)
        normal = [(self.syn or self.normal).draw(rng) for _ in range(n)]
        low = [synthesize_low_light(x, rng, self.cfg.max_low_luma) for x in normal]
        return to_batch(low), to_batch(normal)
