from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
import torch

from reid.errors import ConfigError
from reid.fog import DENSE_FOG, REAL_FOG, SYNTHETIC_FOG, FogConfig, add_fog, fog_bgr


def clean_batch(seed: int = 0) -> torch.Tensor:
    """Smooth, structured images so the pseudo-depth prior has something to see."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(3, 3, 4, 4, generator=gen)
    return torch.nn.functional.interpolate(coarse, size=(32, 48), mode="bilinear")


def fog(images: torch.Tensor, cfg: FogConfig, seed: int = 7) -> torch.Tensor:
    return add_fog(images, cfg, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cfg", [SYNTHETIC_FOG, DENSE_FOG, REAL_FOG])
def test_fog_is_deterministic_given_a_seed_and_stays_in_range(cfg):
    images = clean_batch()
    out = fog(images, cfg)
    assert out.shape == images.shape and 0 <= out.min() and out.max() <= 1
    torch.testing.assert_close(out, fog(images, cfg), rtol=0, atol=0)
    assert not torch.equal(out, fog(images, cfg, seed=8))


@pytest.mark.parametrize("depth", ["cap_ramp", "ramp", "constant"])
def test_fog_is_monotone_in_beta(depth):
    images = clean_batch()
    airlight = 0.8
    gaps = [
        (fog(images, FogConfig((b, b), (airlight, airlight), depth)) - airlight).abs()
        for b in (0.4, 1.0, 1.6)
    ]
    for weaker, stronger in pairwise(gaps):
        assert (stronger <= weaker + 1e-6).all()
        assert stronger.mean() < weaker.mean()


def test_zero_beta_leaves_the_image_unchanged():
    images = clean_batch()
    torch.testing.assert_close(fog(images, FogConfig(beta_range=(0.0, 0.0))), images)


def test_transmission_follows_exp_minus_beta_depth():
    images = torch.full((2, 3, 32, 32), 0.2)
    t = [(1.0 - fog(images, FogConfig((b, b), (1.0, 1.0), "constant"))) / 0.8 for b in (1.0, 2.0)]
    torch.testing.assert_close(t[1], t[0] ** 2)  # same depth draw: exp(-2d) = exp(-d)^2
    depth = -t[0].log()
    assert torch.allclose(depth, depth[:, :1, :1, :1].expand_as(depth))  # homogeneous fog
    assert (depth >= 0.5 - 1e-5).all() and (depth <= 1.0 + 1e-5).all()


def test_pseudo_depth_puts_more_fog_at_the_top():
    images = torch.full((1, 3, 64, 64), 0.1)
    out = fog(images, FogConfig((1.0, 1.0), (1.0, 1.0), "ramp"))
    assert out[0, :, :8].mean() > out[0, :, -8:].mean()


def test_real_stream_fog_varies_beta_in_space_and_differs_from_synthetic():
    images = torch.full((2, 3, 32, 32), 0.2)
    gap = replace(REAL_FOG, depth="constant", blur_sigma=(0.0, 0.0), jpeg_quality=None)
    out = fog(images, gap)
    assert out[0, 0].std() > 1e-3  # spatially varying β under a constant depth
    assert (out[:, 0] != out[:, 2]).any()  # slightly coloured airlight
    assert not torch.allclose(fog(clean_batch(), REAL_FOG), fog(clean_batch(), SYNTHETIC_FOG))


def test_dense_fog_is_denser_on_average():
    images = clean_batch()
    change = [(fog(images, cfg) - images).abs().mean() for cfg in (DENSE_FOG, SYNTHETIC_FOG)]
    assert change[0] > change[1]


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="depth"):
        FogConfig(depth="dcnf")
    with pytest.raises(ConfigError, match="airlight"):
        FogConfig(airlight_range=(0.5, 1.5))
    with pytest.raises(ConfigError, match="jpeg"):
        FogConfig(jpeg_quality=(0, 80))


def test_fog_bgr_keeps_sizes_and_channel_order():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((20, 30), (41, 17))]
    same = fog_bgr(images, FogConfig(beta_range=(0.0, 0.0)))
    assert all(np.array_equal(a, b) for a, b in zip(images, same, strict=True))
    blue = np.zeros((16, 16, 3), np.uint8)
    blue[..., 0] = 255  # BGR
    out = fog_bgr([blue], FogConfig((0.5, 0.5), (0.5, 0.5)), seed=3)[0]
    assert out.dtype == np.uint8 and out.shape == blue.shape
    assert out[..., 0].min() > out[..., 2].max()  # still blue: channels were not swapped
    assert np.array_equal(out, fog_bgr([blue], FogConfig((0.5, 0.5), (0.5, 0.5)), seed=3)[0])
