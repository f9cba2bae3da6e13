"""A low-light camera sensor for night cameras of a scenario (`CameraConfig.sensor`).

A day picture becomes what a street camera records at night: optical blur, a short exposure in
linear light, Poisson shot noise and Gaussian read noise in electrons, the camera's tone curve,
then its colour processing (muted chroma, a bluish white balance). Unlike a plain darkening, the
shadows drown in noise while bright surfaces survive. Every random draw comes from the caller's
generator, so a scenario renders the same for the same seed.
"""

from __future__ import annotations

import cv2
import numpy as np

from mcvrt.scenario.config import SensorConfig

DECODE_GAMMA = 2.2  # the day picture's encoding (sRGB-like)


def expose(image: np.ndarray, sensor: SensorConfig, rng: np.random.Generator) -> np.ndarray:
    """The uint8 BGR `image` as recorded by `sensor` at night (new uint8 array, same shape)."""
    x = image.astype(np.float32) / 255.0
    if sensor.blur_sigma > 0:
        x = cv2.GaussianBlur(x, (0, 0), sensor.blur_sigma)
    electrons = x**DECODE_GAMMA * (sensor.exposure * sensor.full_well)
    electrons = rng.poisson(electrons).astype(np.float32)
    electrons += rng.normal(0.0, sensor.read_noise, x.shape).astype(np.float32)
    linear = np.clip(electrons / sensor.full_well, 0.0, 1.0)
    out = linear ** (1.0 / sensor.gamma)
    grey = out @ np.float32([0.114, 0.587, 0.299])  # Rec. 601 luma of B, G, R
    out = grey[..., None] + sensor.saturation * (out - grey[..., None])
    out *= np.float32([1 + sensor.blue_cast, 1.0, 1 - sensor.blue_cast])
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
