"""Learned whole-image enhancers for use outside ReID (the detector's pre-processing).

`load_image_enhancer("alsa_en", path)`: ALSA's enhancement network (an EN file written by
`reid.enlighten`); `load_image_enhancer("sjdl", path)`: the defogging branch (FIRM) of an SJDL
checkpoint. Either returns a function from a BGR uint8 (H, W, 3) image to a new one of the same
shape, so callers need no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from reid.errors import CheckpointError, ConfigError

KINDS = ("alsa_en", "sjdl")
ImageFn = Callable[[np.ndarray], np.ndarray]


def load_image_enhancer(kind: str, weights: str | Path | None, device: str = "cpu") -> ImageFn:
    """BGR uint8 -> BGR uint8 enhancer of `kind` ("alsa_en" or "sjdl") loaded from `weights`."""
    if kind not in KINDS:
        raise ConfigError(f"unknown enhancer {kind!r}; choose one of {KINDS}")
    if weights is None:
        raise ConfigError(f"enhancer {kind!r} needs a weights file")
    if kind == "alsa_en":
        from reid.models.alsa import load_enhancer

        forward: Callable[[Tensor], Tensor] = load_enhancer(weights).to(device).eval()
        multiple = 1  # the EN pads internally
    else:
        from reid.checkpoint import load_checkpoint

        model, blob = load_checkpoint(weights, device)
        if blob["method"] != "sjdl":
            raise CheckpointError(f"{weights} is a {blob['method']!r} checkpoint, not sjdl")
        forward, multiple = model.defog, 32  # SJDL needs H, W divisible by 32
    return lambda image: _run(forward, image, multiple, device)


def _run(forward: Callable[[Tensor], Tensor], image: np.ndarray, multiple: int, device: str
         ) -> np.ndarray:
    """One image through `forward` (B, 3, H, W RGB in [0, 1]), reflect-padded to `multiple`."""
    h, w = image.shape[:2]
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    x = torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float() / 255.0
    x = F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="reflect")
    with torch.inference_mode():
        y = forward(x)[0, :, :h, :w].clamp(0.0, 1.0)
    out = (y * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()
    return cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
