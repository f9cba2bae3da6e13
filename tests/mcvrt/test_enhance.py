"""Enhancement keeps shape and dtype, brightens dark frames and dehazes foggy ones measurably."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from mcvrt.conditions import condition_stats
from mcvrt.config import EnhanceConfig
from mcvrt.enhance import (
    DENOISERS,
    FramePreparer,
    TemporalDenoiser,
    clahe_lightness,
    dehaze_dark_channel,
    gamma_lightness,
    guided_filter,
)


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A 120x200 colourful, textured 'day' image with shadows (deterministic)."""
    rng = np.random.default_rng(0)
    base = rng.integers(20, 235, (12, 20, 3)).astype(np.uint8)
    image = np.kron(base, np.ones((10, 10, 1), np.uint8))
    image[::17, :] = 0  # dark lines: a clear image has a near-zero dark channel somewhere
    return image


def fogged(image: np.ndarray, t: float = 0.4, airlight: float = 230.0) -> np.ndarray:
    return np.rint(image * t + airlight * (1 - t)).astype(np.uint8)


def luma_median(image: np.ndarray) -> float:
    return condition_stats(image).brightness


def test_gamma_brings_a_dark_frame_to_the_target_median(scene):
    dark = (scene * 0.25).astype(np.uint8)
    out = gamma_lightness(dark)
    assert out.shape == dark.shape and out.dtype == np.uint8
    assert luma_median(dark) < 0.15 and luma_median(out) == pytest.approx(0.45, abs=0.05)
    assert gamma_lightness(scene) is scene  # bright enough already: untouched


def lightness(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[..., 0]


def test_clahe_raises_contrast_and_brightness_of_a_dark_frame(scene):
    dark = (scene * 0.25).astype(np.uint8)
    out = clahe_lightness(dark)
    assert out.shape == dark.shape and out.dtype == np.uint8
    assert lightness(out).std() > 1.1 * lightness(dark).std()
    assert luma_median(out) > 1.1 * luma_median(dark)


def test_guided_filter_with_itself_as_guide_and_tiny_eps_is_the_identity():
    rng = np.random.default_rng(1)
    x = rng.random((30, 40)).astype(np.float32)
    assert np.allclose(guided_filter(x, x, 2, 1e-8), x, atol=1e-3)
    box = cv2.blur(cv2.blur(x, (3, 3), borderType=cv2.BORDER_REFLECT), (3, 3),
                   borderType=cv2.BORDER_REFLECT)
    assert np.allclose(guided_filter(np.ones_like(x), x, 1, 1e-3), box, atol=1e-6)  # a = 0


def test_dark_channel_dehazing_removes_most_of_the_fog(scene):
    foggy = fogged(scene)
    out = dehaze_dark_channel(foggy)
    assert out.shape == foggy.shape and out.dtype == np.uint8
    assert condition_stats(foggy).haze > 0.5 and condition_stats(out).haze < 0.1
    error = np.abs(out.astype(int) - scene).mean()
    assert error < 0.5 * np.abs(foggy.astype(int) - scene).mean()


def test_frame_preparer_routes_by_condition(scene):
    prepare = FramePreparer(EnhanceConfig(night="gamma", fog="dcp", condition_every=1))
    condition, out = prepare(scene)
    assert condition == "day" and out is scene
    condition, out = prepare((scene * 0.25).astype(np.uint8))
    assert condition == "night" and luma_median(out) > 0.3
    condition, out = prepare(fogged(scene))
    assert condition == "fog" and condition_stats(out).haze < 0.1
    untouched = (scene * 0.25).astype(np.uint8)
    off = EnhanceConfig(night="none", night_denoise="none")
    assert FramePreparer(off)(untouched) == ("night", untouched)


def test_frame_preparer_estimates_the_condition_every_kth_frame(scene):
    prepare = FramePreparer(EnhanceConfig(night="none", night_denoise="none", condition_every=3))
    dark = (scene * 0.25).astype(np.uint8)
    conditions = [prepare(image)[0] for image in (scene, dark, dark, dark, scene)]
    assert conditions == ["day", "day", "day", "night", "night"]


@pytest.mark.parametrize("method", ["gaussian", "median", "bilateral", "nlmeans"])
def test_spatial_denoisers_lower_noise_on_a_flat_dark_frame(method):
    rng = np.random.default_rng(1)
    noisy = np.clip(40 + rng.normal(0, 6, (60, 80, 3)), 0, 255).astype(np.uint8)
    out = DENOISERS[method]()(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert out.std() < 0.7 * noisy.std()


def test_temporal_denoiser_averages_still_pixels_and_follows_moving_ones():
    rng = np.random.default_rng(2)
    denoise = TemporalDenoiser()
    for i in range(12):
        frame = np.clip(40 + rng.normal(0, 6, (60, 80, 3)), 0, 255).astype(np.uint8)
        frame[:, 10 * (i % 4):10 * (i % 4) + 10] = 200  # a bright bar jumping each frame
        out = denoise(frame)
    still, moving = out[:, 50:], out[:, 10 * (11 % 4):10 * (11 % 4) + 10]
    assert still.std() < 0.6 * frame[:, 50:].std()
    assert moving.min() > 150  # the bar where it is now, no trail of the average


def test_night_denoising_runs_before_brightening_on_night_frames_only(scene):
    prepare = FramePreparer(EnhanceConfig(night_denoise="median", night="gamma",
                                          condition_every=1))
    assert prepare(scene)[1] is scene
    dark = (scene * 0.25).astype(np.uint8)
    expected = gamma_lightness(cv2.medianBlur(dark, 3))
    assert np.array_equal(prepare(dark)[1], expected)


def test_learned_low_light_enhancer_keeps_shape_and_dtype(scene, tmp_path: Path):
    torch = pytest.importorskip("torch")
    from reid.models.alsa import EN_FORMAT, EnhancementNet

    path = tmp_path / "en.pt"
    torch.manual_seed(0)
    net = EnhancementNet(2)
    torch.save({"format": EN_FORMAT, "width": 2, "state_dict": net.state_dict()}, path)
    prepare = FramePreparer(EnhanceConfig(night="alsa", alsa_weights=path))
    dark = (scene * 0.25).astype(np.uint8)
    condition, out = prepare(dark)
    assert condition == "night" and out.shape == dark.shape and out.dtype == np.uint8
