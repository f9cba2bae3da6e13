"""Training augmentation: rescaling loses detail, colour jitter moves brightness, both optional."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reid.data.transforms import (
    AugmentConfig,
    augment,
    color_jitter,
    random_fog,
    random_night_camera,
    rescale,
)
from reid.errors import ConfigError

OFF = AugmentConfig(flip=0.0, pad=0, erase=0.0)


def checkerboard() -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    return ((yy + xx) % 2).float().expand(4, 3, 32, 32).clone()


def test_rescale_blurs_fine_detail_and_keeps_the_size() -> None:
    images = checkerboard()
    out = rescale(images, 1.0, (0.5, 0.5), torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert out.std() < 0.1 * images.std()  # a one-pixel checkerboard does not survive x0.5
    untouched = rescale(images, 0.0, (0.5, 0.5), torch.Generator().manual_seed(0))
    assert torch.equal(untouched, images)


def test_colour_jitter_darkens_within_its_range_and_stays_in_unit_range() -> None:
    images = torch.full((64, 3, 8, 8), 0.5)
    cfg = AugmentConfig(color=1.0, brightness=(0.25, 0.5), jitter=0.0)
    out = color_jitter(images, cfg, torch.Generator().manual_seed(0))
    means = out.mean(dim=(1, 2, 3))
    assert means.min() >= 0.125 - 1e-6 and means.max() <= 0.25 + 1e-6
    bright = color_jitter(images, AugmentConfig(color=1.0, brightness=(4.0, 4.0)),
                          torch.Generator().manual_seed(0))
    assert bright.max() <= 1.0


def test_defaults_leave_the_random_stream_and_images_as_before() -> None:
    images = torch.rand(4, 3, 16, 16)
    a = augment(images, OFF, torch.Generator().manual_seed(3))
    assert torch.equal(a, images)


def test_bad_ranges_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"augment\.scale"):
        AugmentConfig(scale=(0.0, 1.0))
    with pytest.raises(ConfigError, match=r"augment\.brightness"):
        AugmentConfig(brightness=(2.0, 1.0))


def test_night_camera_replaces_the_picked_images_only() -> None:
    """p = 1 darkens every image, the same seed the same way; p = 0 leaves them and the
    generator's stream alone."""
    images = np.full((6, 16, 16, 3), 180, np.uint8)
    night = random_night_camera(images, 1.0, torch.Generator().manual_seed(0))
    assert night.shape == images.shape and night.dtype == np.uint8
    assert (night.reshape(6, -1).mean(axis=1) < 0.8 * 180).all()
    generator = torch.Generator().manual_seed(0)
    assert np.array_equal(random_night_camera(images, 0.0, generator), images)
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(0).get_state())
    again = random_night_camera(images, 1.0, torch.Generator().manual_seed(0))
    assert np.array_equal(night, again)


def test_fog_veils_the_picked_images_only() -> None:
    """p = 1 pulls every dark image towards the airlight; p = 0 leaves the batch and the
    generator's stream alone; p = 0.5 fogs some images and keeps the others exactly."""
    images = torch.full((8, 3, 16, 16), 0.1)
    foggy = random_fog(images, 1.0, torch.Generator().manual_seed(0))
    assert foggy.shape == images.shape and (foggy.mean(dim=(1, 2, 3)) > 0.2).all()
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(random_fog(images, 0.0, generator), images)
    assert torch.equal(generator.get_state(), torch.Generator().manual_seed(0).get_state())
    half = random_fog(images, 0.5, torch.Generator().manual_seed(1))
    kept = (half == images).flatten(1).all(dim=1)
    assert 0 < int(kept.sum()) < len(images)
