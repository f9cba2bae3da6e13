"""Frame pre-processing for detection on dark and foggy cameras.

Classical methods (numpy + OpenCV): gamma and CLAHE on the LAB lightness channel for low light,
the dark channel prior with a guided-filter-refined transmission for fog (He et al., CVPR 2009 /
TPAMI 2013). Learned ones: ALSA's enhancement network and SJDL's defogging branch, loaded through
`reid.enhancers` (the only `reid` import here). `FramePreparer` estimates each frame's condition
with `mcvrt.conditions` and applies the configured method; the pipeline detects on the result and
keeps the original frame for crops and outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from mcvrt.conditions import FRAME_THRESHOLDS, classify, dark_channel
from mcvrt.config import EnhanceConfig

Enhance = Callable[[np.ndarray], np.ndarray]  # BGR uint8 (H, W, 3) -> same shape and dtype

GAMMA_TARGET = 0.45  # `gamma` maps the median lightness to this (in [0, 1])


def _lightness_lut(image: np.ndarray, lut: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply `lut` (uint8 L -> uint8 L) to the LAB lightness channel, chroma untouched."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[..., 0] = lut(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def gamma_lightness(image: np.ndarray, target: float = GAMMA_TARGET) -> np.ndarray:
    """Gamma on lightness with gamma chosen so the median luma becomes `target`.

    Gamma is clipped to [0.2, 1]; an image already that bright is returned as it is.
    """
    median = float(np.median(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))) / 255.0
    if median >= target:
        return image
    gamma = max(float(np.log(target) / np.log(max(median, 1e-3))), 0.2)
    table = np.rint(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
    return _lightness_lut(image, lambda lightness: cv2.LUT(lightness, table))


def clahe_lightness(image: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of the LAB lightness channel."""
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    return _lightness_lut(image, clahe.apply)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of `src` guided by `guide` (He et al., TPAMI 2013, Alg. 1).

    Both (H, W) float32. Written with box filters because `cv2.ximgproc.guidedFilter` lives in
    opencv-contrib, which is not a dependency (its wheel replaces opencv-python's `cv2`).
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    a = (box(guide * src) - mean_i * mean_p) / (box(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def dehaze_dark_channel(image: np.ndarray, omega: float = 0.95, t_min: float = 0.1) -> np.ndarray:
    """Dark-channel-prior dehazing: J = (I - A) / max(t, t_min) + A.

    Airlight A: grey, the mean over channels of the 0.1% pixels with the brightest dark channel
    (fog scatters all colours alike; a per-channel A picks up the colour of sunlit surfaces and
    tints the whole output). Transmission
    t = 1 - omega * dark_channel(I / A), refined by a guided filter on the grey image. Patch
    (15 px) and filter radius (60 px) follow the paper at 600 px and scale with the frame.
    """
    side = min(image.shape[:2])
    patch = max(3, round(side / 40)) | 1
    dark = dark_channel(image, patch).astype(np.float32) / 255.0
    count = max(1, dark.size // 1000)
    brightest = np.argpartition(dark.ravel(), -count)[-count:]
    airlight = max(float(image.reshape(-1, 3)[brightest].mean()) / 255.0, 1e-3)
    t = 1.0 - omega * dark / airlight  # the dark channel of I / A, as A is grey
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    t = guided_filter(grey, t, max(1, round(side / 10)), 1e-3)
    x = image.astype(np.float32) / 255.0
    out = (x - airlight) / np.maximum(t, t_min)[..., None] + airlight
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


CLASSICAL: dict[str, Enhance] = {
    "gamma": gamma_lightness,
    "clahe": clahe_lightness,
    "dcp": dehaze_dark_channel,
}
LEARNED = {"alsa": "alsa_en", "sjdl": "sjdl"}  # config name -> `reid.enhancers` kind


def load_enhancer(method: str, weights: Path | None, device: str) -> Enhance:
    """The `method` enhancer: a classical function, or a learned network loaded from `weights`."""
    if method in CLASSICAL:
        return CLASSICAL[method]
    from reid.enhancers import load_image_enhancer  # torch is imported only when asked for

    return load_image_enhancer(LEARNED[method], weights, device)


class FramePreparer:
    """Per frame: estimate the condition, enhance dark / foggy frames as configured.

    `__call__(image) -> (condition, image for the detector)`; day frames and conditions whose
    method is "none" pass through unchanged (the same array).
    """

    def __init__(self, cfg: EnhanceConfig) -> None:
        self.methods: dict[str, Enhance] = {}
        if cfg.night != "none":
            self.methods["night"] = load_enhancer(cfg.night, cfg.alsa_weights, cfg.device)
        if cfg.fog != "none":
            self.methods["fog"] = load_enhancer(cfg.fog, cfg.sjdl_weights, cfg.device)

    def __call__(self, image: np.ndarray) -> tuple[str, np.ndarray]:
        condition = classify(image, FRAME_THRESHOLDS)
        method = self.methods.get(condition)
        return condition, image if method is None else method(image)
