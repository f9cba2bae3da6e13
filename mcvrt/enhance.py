"""Frame pre-processing for detection on dark and foggy cameras.

Classical methods (numpy + OpenCV): spatial (Gaussian, median, bilateral, non-local means) or
temporal denoising then gamma and CLAHE on the LAB lightness channel for low light,
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


def bilateral(image: np.ndarray) -> np.ndarray:
    """Edge-preserving spatial denoising: a 5-px bilateral filter, colour sigma 25 (8-bit)."""
    return cv2.bilateralFilter(image, 5, 25, 5)


def median3(image: np.ndarray) -> np.ndarray:
    """3 x 3 median per channel: removes shot-noise speckle, keeps edges."""
    return cv2.medianBlur(image, 3)


def gaussian3(image: np.ndarray) -> np.ndarray:
    """3 x 3 Gaussian blur (sigma 0.8)."""
    return cv2.GaussianBlur(image, (3, 3), 0.8)


def nl_means_half(image: np.ndarray) -> np.ndarray:
    """Non-local means (`cv2.fastNlMeansDenoisingColored`, h 7) on a half-size copy, enlarged
    back: the full-size call costs about four times more."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    small = cv2.fastNlMeansDenoisingColored(small, None, 7, 7, 5, 15)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class TemporalDenoiser:
    """Running average over recent frames of a fixed camera where nothing moves.

    Each pixel keeps an exponential average; a new frame enters with weight `alpha` where it
    matches the average and replaces it where it differs (a moving vehicle): the history's weight
    is (1 - alpha) * exp(-(d / diff_scale)^2), d the blurred absolute difference (grey levels).
    With alpha 0.25 static noise falls to about 0.38 of its std. Stateful: one per camera.
    """

    def __init__(self, alpha: float = 0.25, diff_scale: float = 12.0) -> None:
        self.alpha, self.diff_scale = alpha, diff_scale
        self.average: np.ndarray | None = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        frame = image.astype(np.float32)
        if self.average is None or self.average.shape != frame.shape:
            self.average = frame
            return image
        diff = cv2.GaussianBlur(np.abs(frame - self.average).mean(axis=2), (5, 5), 0)
        keep = (1.0 - self.alpha) * np.exp(-((diff / self.diff_scale) ** 2))
        self.average = frame + keep[..., None] * (self.average - frame)
        return np.rint(self.average).astype(np.uint8)


DENOISERS: dict[str, Callable[[], Enhance]] = {  # enhance.night_denoise -> a new denoiser
    "gaussian": lambda: gaussian3,
    "median": lambda: median3,
    "bilateral": lambda: bilateral,
    "nlmeans": lambda: nl_means_half,
    "temporal": TemporalDenoiser,
}

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


def _chain(steps: list[Enhance]) -> Enhance:
    """The steps applied in order."""
    def run(image: np.ndarray) -> np.ndarray:
        for step in steps:
            image = step(image)
        return image

    return run


class FramePreparer:
    """Per frame: estimate the condition (on every `enhance.condition_every`-th frame, kept in
    between), enhance dark / foggy frames as configured (at night: denoise, then brighten). One
    per camera: the temporal denoiser remembers recent frames.

    `__call__(image) -> (condition, image for the detector)`; day frames and conditions whose
    method is "none" pass through unchanged (the same array).
    """

    def __init__(self, cfg: EnhanceConfig) -> None:
        self.every, self.seen, self.condition = cfg.condition_every, 0, "day"
        self.methods: dict[str, Enhance] = {}
        steps = [DENOISERS[cfg.night_denoise]()] if cfg.night_denoise != "none" else []
        if cfg.night != "none":
            steps.append(load_enhancer(cfg.night, cfg.alsa_weights, cfg.device))
        if steps:
            self.methods["night"] = steps[0] if len(steps) == 1 else _chain(steps)
        if cfg.fog != "none":
            self.methods["fog"] = load_enhancer(cfg.fog, cfg.sjdl_weights, cfg.device)

    def __call__(self, image: np.ndarray) -> tuple[str, np.ndarray]:
        if self.seen % self.every == 0:  # light changes slowly at a fixed camera
            self.condition = classify(image, FRAME_THRESHOLDS)
        self.seen += 1
        method = self.methods.get(self.condition)
        return self.condition, image if method is None else method(image)
