import math

import pytest
import torch

from reid.errors import ConfigError
from reid.fog_losses import (
    REFERENCE_SIZE,
    SJDLLossConfig,
    colour_entropy_loss,
    dark_channel,
    dark_channel_loss,
    dark_channel_patch,
    defog_l2,
    self_constraint_loss,
    soft_histogram,
    total_variation_loss,
    unsupervised_defog_losses,
)


def test_soft_histogram_splits_mass_linearly_and_smooths():
    hist = soft_histogram(torch.tensor([[0.25, 254.5, 255.0]]))
    counts = torch.zeros(256)
    counts[0], counts[1], counts[254], counts[255] = 0.75, 0.25, 0.5, 1.5
    torch.testing.assert_close(hist[0], (counts + 1) / (3 + 256))


def test_soft_histogram_sums_to_one_with_nonzero_gradient():
    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    images.requires_grad_(True)
    values = 255 * images.mean(1).flatten(1)
    torch.testing.assert_close(soft_histogram(values).sum(1), torch.ones(2))
    colour_entropy_loss(images).backward()
    assert images.grad.abs().sum() > 0
    assert torch.isfinite(images.grad).all()


def test_colour_entropy_is_negative_entropy_of_a_constant_image():
    n = 8 * 8
    high, low = (n + 1) / (n + 256), 1 / (n + 256)
    expected = high * math.log(high) + 255 * low * math.log(low)
    image = torch.full((1, 3, 8, 8), 100 / 255)
    assert colour_entropy_loss(image).item() == pytest.approx(expected, rel=1e-5)
    assert colour_entropy_loss(image, per_channel=True).item() == pytest.approx(expected, rel=1e-5)


def test_colour_entropy_prefers_contrast():
    flat = torch.full((1, 3, 16, 16), 0.5)
    spread = torch.linspace(0, 1, 256).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    assert colour_entropy_loss(spread) < colour_entropy_loss(flat)


def test_dark_channel_on_a_hand_made_image():
    image = torch.ones(1, 3, 4, 5)
    image[0, 1, 1, 1] = 0.2  # green dips at (1, 1)
    image[0, 0, 3, 4] = 0.5  # red dips at the bottom-right corner
    expected = torch.ones(4, 5)
    expected[0:3, 0:3] = 0.2  # 3x3 windows that contain (1, 1); borders are not padded with 0
    expected[2:4, 3:5] = 0.5
    torch.testing.assert_close(dark_channel(image, 3)[0, 0], expected)


def test_dark_channel_patch_scales_with_resolution():
    assert [dark_channel_patch(h) for h in (128, 256, 384)] == [11, 23, 35]


def test_dark_channel_and_tv_are_sums_normalised_to_384():
    assert dark_channel_loss(torch.full((2, 3, 64, 64), 0.25)).item() == 0.25 * REFERENCE_SIZE**2
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 3, 2, 4) / 10  # x steps of 0.1, y flat
    expected = 0.1 * 3 * REFERENCE_SIZE**2
    assert total_variation_loss(ramp).item() == pytest.approx(expected, rel=1e-6)


def test_self_constraint_is_minus_one_for_identity_and_scale_invariant():
    image = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert self_constraint_loss(image, image).item() == pytest.approx(-1.0, abs=1e-6)
    other = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    base = self_constraint_loss(other, image).item()
    assert self_constraint_loss(0.3 * other, image).item() == pytest.approx(base, abs=1e-6)
    assert self_constraint_loss(other, 2.0 * image).item() == pytest.approx(base, abs=1e-6)


def test_self_constraint_is_phase_not_pixel_cosine():
    a = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    b = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    pixel = torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0)
    fa, fb = torch.view_as_real(torch.fft.fft2(a)), torch.view_as_real(torch.fft.fft2(b))
    literal = torch.nn.functional.cosine_similarity(fa.flatten(), fb.flatten(), dim=0)
    torch.testing.assert_close(literal, pixel)  # the literal Eq. 10 is degenerate (Parseval)
    assert abs(self_constraint_loss(a, b).item() + pixel.item()) > 0.1


def test_self_constraint_gradient_is_finite_at_zero_spectrum():
    flat = torch.full((1, 3, 8, 8), 0.5, requires_grad=True)  # all but the DC bin are zero
    self_constraint_loss(flat, torch.rand(1, 3, 8, 8)).backward()
    assert torch.isfinite(flat.grad).all()


def test_defog_l2_averages_coarse_and_refined():
    clean = torch.zeros(1, 3, 2, 2)
    coarse, refined = torch.full_like(clean, 0.5), torch.full_like(clean, 0.1)
    assert defog_l2(refined, clean, coarse).item() == pytest.approx(0.5 * (0.25 + 0.01))
    assert defog_l2(refined, clean).item() == pytest.approx(0.01)


def test_unsupervised_terms_are_weighted_by_the_config():
    cfg = SJDLLossConfig(lambda2=2.0, lambda3=0.0, lambda4=3.0, ce_per_channel=True)
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    terms = unsupervised_defog_losses(image, image, cfg)
    assert terms["colour_entropy"] == colour_entropy_loss(image, per_channel=True)
    assert terms["dark_channel"] == 2.0 * dark_channel_loss(image)
    assert terms["total_variation"].item() == 0.0
    assert terms["self_constraint"].item() == pytest.approx(-3.0, abs=1e-5)


def test_config_defaults_follow_the_paper_and_reject_negatives():
    cfg = SJDLLossConfig()
    assert (cfg.lambda1, cfg.lambda2, cfg.lambda3, cfg.lambda4) == (1.0, 1e-5, 1e-5, 300.0)
    with pytest.raises(ConfigError, match="lambda4"):
        SJDLLossConfig(lambda4=-1.0)
