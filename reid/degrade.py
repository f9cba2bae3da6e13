"""Image degradations for synthetic night and fog: numpy + OpenCV only, no torch.

Every function takes a uint8 BGR (H, W, 3) image and returns a new uint8 image of the same shape.
Randomness comes only from an explicit `np.random.Generator`, so results are reproducible; the
random *parameters* (which factor, which beta) are the caller's choice, drawn from the ranges
below when following `methods.md`.
"""

from __future__ import annotations

import cv2
import numpy as np

ALSA_DARK_FACTOR = 0.3  # ALSA "darker" protocol: pixels x 0.3 (methods.md §1.8)
FOG_BETA_RANGE = (0.4, 1.6)  # scattering coefficient, paper range (methods.md §3.5)
FOG_AIRLIGHT_RANGE = (0.5, 1.0)  # grey airlight A in [0, 1]
DEPTH_MIN_RANGE = (0.2, 0.4)  # nearest pseudo-depth, so the nearest object still gets some fog


def _check_image(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {img.dtype} {img.shape}")


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """[0, 255] floats -> uint8, rounding to nearest."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def darken(
    img: np.ndarray,
    factor: float = ALSA_DARK_FACTOR,
    noise_std: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Multiply every pixel by `factor`, then add Gaussian noise of `noise_std` (8-bit units).

    `darken(img)` is ALSA's "darker" data (x0.3, no noise); `noise_std > 0` needs `rng`.
    """
    _check_image(img)
    if not 0.0 <= factor <= 1.0:
        raise ValueError(f"factor must be in [0, 1], got {factor}")
    out = img.astype(np.float32) * np.float32(factor)
    if noise_std > 0:
        if rng is None:
            raise ValueError("noise_std > 0 needs an rng")
        out += rng.normal(0.0, noise_std, img.shape).astype(np.float32)
    return _to_uint8(out)


def low_light(
    img: np.ndarray,
    gain: float,
    rng: np.random.Generator,
    gamma: float = 2.2,
    shot_noise: float = 1e-3,
    read_noise: float = 5e-3,
    blur_sigma: float = 0.0,
    saturation: float = 1.0,
    blue_cast: float = 0.0,
) -> np.ndarray:
    """Physically based low light (methods.md §2.3, mode 3): a dark exposure with sensor noise.

    Linearise `x**gamma` (x in [0, 1]), scale by `gain` (e.g. LogUniform[0.02, 0.3]), add
    Poisson-Gaussian noise N(0, shot_noise·x + read_noise²) in linear space, clip, re-apply
    `x**(1/gamma)`. Shadows drown in noise while highlights survive, unlike `darken`.
    A street camera at night adds, optionally: optical blur (`blur_sigma` pixels, before the
    exposure), muted colour (chroma x `saturation`) and a white-balance cast (blue x
    (1 + `blue_cast`), red x (1 - `blue_cast`); < 0: orange, sodium light).
    """
    _check_image(img)
    if gain <= 0 or gamma <= 0 or shot_noise < 0 or read_noise < 0:
        raise ValueError("gain and gamma must be > 0, noise levels >= 0")
    if blur_sigma < 0 or saturation < 0 or abs(blue_cast) >= 1:
        raise ValueError("blur_sigma and saturation must be >= 0, |blue_cast| < 1")
    x = img.astype(np.float32) / 255.0
    if blur_sigma > 0:
        x = cv2.GaussianBlur(x, (0, 0), blur_sigma)
    linear = x**gamma * gain
    std = np.sqrt(shot_noise * linear + read_noise**2)
    noisy = np.clip(linear + rng.standard_normal(img.shape).astype(np.float32) * std, 0.0, 1.0)
    out = noisy ** (1.0 / gamma)
    if saturation != 1.0 or blue_cast:
        grey = out @ np.float32([0.114, 0.587, 0.299])  # Rec. 601 luma of B, G, R
        out = grey[..., None] + saturation * (out - grey[..., None])
        out = out * np.float32([1 + blue_cast, 1.0, 1 - blue_cast])
    return _to_uint8(np.clip(out, 0.0, 1.0) * 255.0)


def pseudo_depth(img: np.ndarray, d_min: float = 0.3, method: str = "cap_ramp") -> np.ndarray:
    """Network-free normalised depth (methods.md §3.5): (H, W) float32 in [d_min, 1], 1 = far.

    "ramp": the ground-plane ramp `1 - y/(H-1)` (top rows far). "cap_ramp" (default): half the
    ramp plus half the min-max normalised colour-attenuation prior
    `0.121779 + 0.959710·V - 0.780245·S` (min-filtered and box-blurred, radii scaled from
    7 and 15 at 256 px). Either is rescaled to [d_min, 1] and Gaussian-smoothed (sigma 2% of H).
    """
    _check_image(img)
    if method not in ("cap_ramp", "ramp"):
        raise ValueError(f"method must be 'cap_ramp' or 'ramp', got {method!r}")
    if not 0.0 <= d_min < 1.0:
        raise ValueError(f"d_min must be in [0, 1), got {d_min}")
    h, w = img.shape[:2]
    ramp = np.repeat(1.0 - np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1), w, axis=1)
    depth = ramp
    if method == "cap_ramp":
        x = img.astype(np.float32) / 255.0
        v = x.max(axis=2)
        s = np.where(v > 0, (v - x.min(axis=2)) / np.maximum(v, 1e-6), 0.0)
        cap = 0.121779 + 0.959710 * v - 0.780245 * s
        scale = h / 256.0
        r_min, r_box = max(1, round(7 * scale)), max(1, round(15 * scale))
        cap = cv2.erode(cap, np.ones((2 * r_min + 1, 2 * r_min + 1), np.uint8))
        cap = cv2.blur(cap, (2 * r_box + 1, 2 * r_box + 1))
        depth = 0.5 * ramp + 0.5 * _normalise(cap)
    depth = d_min + (1.0 - d_min) * _normalise(depth)
    depth = cv2.GaussianBlur(depth.astype(np.float32), (0, 0), sigmaX=max(0.02 * h, 0.5))
    return np.clip(depth, d_min, 1.0).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; a constant array becomes all zeros."""
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def fog(img: np.ndarray, beta: float, airlight: float, depth: np.ndarray | float) -> np.ndarray:
    """Atmospheric scattering `I = J·t + A·(1 - t)`, `t = exp(-beta·depth)`, in [0, 1].

    `depth` is an (H, W) map from `pseudo_depth` or one number for homogeneous fog;
    `airlight` is the grey A in [0, 1]. Larger beta -> every pixel moves closer to A.
    """
    _check_image(img)
    if beta < 0 or not 0.0 <= airlight <= 1.0:
        raise ValueError(f"need beta >= 0 and airlight in [0, 1], got {beta}, {airlight}")
    d = np.asarray(depth, dtype=np.float32)
    if d.ndim == 2 and d.shape != img.shape[:2]:
        raise ValueError(f"depth shape {d.shape} does not match image {img.shape[:2]}")
    if d.ndim not in (0, 2):
        raise ValueError(f"depth must be a number or an (H, W) map, got shape {d.shape}")
    t = np.exp(-beta * d)
    t = t[..., None] if t.ndim == 2 else t
    out = img.astype(np.float32) * t + (255.0 * airlight) * (1.0 - t)
    return _to_uint8(out)
