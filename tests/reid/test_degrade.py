"""Synthetic night and fog: exact values, monotonicity, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from reid.degrade import darken, fog, low_light, pseudo_depth


def _image(seed: int = 0, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def test_darken_exact_on_constant_image() -> None:
    img = np.full((4, 5, 3), 100, np.uint8)
    assert np.array_equal(darken(img), np.full((4, 5, 3), 30, np.uint8))  # 100 * 0.3
    assert np.array_equal(darken(np.full((2, 2, 3), 255, np.uint8), 0.5), np.full((2, 2, 3), 128))


def test_darken_noise_is_deterministic_and_needs_rng() -> None:
    img = _image()
    a = darken(img, 0.3, 4.0, np.random.default_rng(1))
    b = darken(img, 0.3, 4.0, np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, darken(img))
    with pytest.raises(ValueError, match="rng"):
        darken(img, 0.3, 4.0)


def test_low_light_darkens_and_is_deterministic() -> None:
    img = _image()
    a = low_light(img, 0.1, np.random.default_rng(3))
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert np.array_equal(a, low_light(img, 0.1, np.random.default_rng(3)))
    assert a.mean() < 0.6 * img.mean()


def test_low_light_night_camera_steps() -> None:
    """Without noise: colour muted by `saturation`, a blue cast lifts blue over red, blur
    smooths; bad settings are refused."""
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 2] = 200  # pure red (BGR)
    quiet = {"shot_noise": 0.0, "read_noise": 0.0}
    plain = low_light(img, 1.0, np.random.default_rng(0), **quiet).astype(float)
    grey = low_light(img, 1.0, np.random.default_rng(0), saturation=0.0, **quiet).astype(float)
    assert np.ptp(grey[0, 0]) <= 1 < np.ptp(plain[0, 0])
    muted = low_light(img, 1.0, np.random.default_rng(0), saturation=0.0, blue_cast=0.1,
                      **quiet).astype(float)
    assert muted[0, 0, 0] > muted[0, 0, 1] > muted[0, 0, 2]
    edge = np.zeros((8, 8, 3), np.uint8)
    edge[:, 4:] = 255
    soft = low_light(edge, 1.0, np.random.default_rng(0), blur_sigma=1.0, **quiet)
    assert 0 < soft[0, 4, 0] < 255 and 0 < soft[0, 3, 0] < 255
    with pytest.raises(ValueError, match="blue_cast"):
        low_light(img, 1.0, np.random.default_rng(0), blue_cast=1.0)


def test_pseudo_depth_range_and_ramp() -> None:
    img = _image()
    for method in ("cap_ramp", "ramp"):
        d = pseudo_depth(img, d_min=0.3, method=method)
        assert d.shape == img.shape[:2] and d.dtype == np.float32
        assert d.min() >= 0.3 - 1e-6 and d.max() <= 1.0 + 1e-6
        assert d[:5].mean() > d[-5:].mean()  # top rows are farther
    with pytest.raises(ValueError, match="method"):
        pseudo_depth(img, method="cnn")


def test_fog_exact_and_monotone_in_beta() -> None:
    grey = np.full((3, 3, 3), 55, np.uint8)
    # t = exp(-1 * 1) = 0.3679; 55 * t + 255 * (1 - t) = 181.42 -> 181
    assert np.array_equal(fog(grey, 1.0, 1.0, 1.0), np.full((3, 3, 3), 181, np.uint8))
    assert np.array_equal(fog(grey, 0.0, 1.0, 1.0), grey)

    img = _image()
    depth = pseudo_depth(img)
    airlight = 0.8
    gaps = [np.abs(fog(img, beta, airlight, depth).astype(float) - 255 * airlight)
            for beta in (0.4, 0.8, 1.2, 1.6)]
    for nearer, farther in zip(gaps[1:], gaps[:-1], strict=True):
        assert np.all(nearer <= farther + 1)  # every pixel moves towards A (±1 rounding)
        assert nearer.mean() < farther.mean()


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="uint8"):
        darken(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="depth shape"):
        fog(_image(), 1.0, 0.8, np.ones((3, 3), np.float32))
