"""Appearance: crop detections and embed them; the only pipeline module that uses `reid`.

When to embed: every `embed_every`-th processed frame, all detections of that frame in one
batch (the tracker matches by motion alone on the frames in between). With the weight-free
colour histogram embedding costs ~0.1 ms a crop, so the default is every frame; trained CNN
checkpoints cost far more on CPU, and a stride of 3-5 keeps them off the critical path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from mcvrt.config import AppearanceConfig
from mcvrt.types import Detections
from reid import load_embedder

Embed = Callable[[Sequence[np.ndarray]], np.ndarray]  # BGR crops -> (N, D) float32, unit norm


def load_embed(cfg: AppearanceConfig) -> Embed:
    """The configured embedder (colour histogram or a reid checkpoint), loaded once."""
    return load_embedder(cfg.embedder)


def crop(image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """The box's pixels, clipped to the image (may be empty)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = np.round(xyxy).astype(int)
    return image[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]


def embed_detections(
    image: np.ndarray, dets: Detections, embed: Embed, min_crop_px: int = 8
) -> Detections:
    """Detections with `embedding` set; crops smaller than `min_crop_px` get an all-zero row."""
    crops = [crop(image, box) for box in dets.xyxy]
    usable = [i for i, c in enumerate(crops) if min(c.shape[:2]) >= min_crop_px]
    vectors = embed([crops[i] for i in usable])
    embedding = np.zeros((len(dets), vectors.shape[1]), np.float32)
    embedding[usable] = vectors
    return replace(dets, embedding=embedding)
