"""Embedding networks: output contract, gradient flow, model lookup, local backbone weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from reid.errors import ConfigError
from reid.models import BackboneConfig, ModelConfig, build_model
from reid.models.alsa import ALSAConfig
from reid.models.backbone import EmbeddingNet

SMALL = ModelConfig(
    BackboneConfig("resnet18", embed_dim=16), ALSAConfig(en_width=2, ssa_dim=8, ssa_heads=2)
)


@pytest.mark.parametrize("method", ["baseline", "alsa"])
def test_embed_and_forward_give_unit_vectors_and_logits(method: str) -> None:
    torch.manual_seed(0)
    model = build_model(method, SMALL, num_ids=5).eval()
    images = torch.rand(2, 3, 64, 32) * 0.3  # dark enough for ALSA to run its EN
    emb = model.embed(images)
    out = model(images)
    assert emb.shape == (2, 16) and torch.allclose(emb.norm(dim=1), torch.ones(2))
    assert torch.allclose(out.embedding, emb, atol=1e-6)
    assert out.logits is not None and out.logits.shape == (2, 5)
    assert build_model(method, SMALL).eval()(images).logits is None


@pytest.mark.parametrize("method", ["baseline", "alsa"])
def test_gradients_reach_every_trainable_parameter(method: str) -> None:
    torch.manual_seed(0)
    model = build_model(method, SMALL, num_ids=3).train()
    out = model(torch.rand(4, 3, 32, 32) * 0.3)
    (out.embedding.sum() + out.logits.sum()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    if method == "alsa":  # the frozen EN is not trained
        assert not any(p.requires_grad for p in model.correction.en.parameters())


def test_unknown_model_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'alsaa'; choose one of \['alsa', "):
        build_model("alsaa", SMALL)


def test_backbone_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="arch must be one of"):
        BackboneConfig("vgg16")


def test_local_backbone_weights_are_loaded_and_freeze_batchnorm(tmp_path: Path) -> None:
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "r18.pth")
    net = EmbeddingNet(BackboneConfig("resnet18", weights=str(tmp_path / "r18.pth"))).train()
    assert torch.equal(net.trunk[0].weight, reference.conv1.weight)
    bns = [m for m in net.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not m.training and not m.weight.requires_grad for m in bns)
    assert EmbeddingNet(BackboneConfig("resnet18")).train().trunk[1].training  # random init
    with pytest.raises(ConfigError, match="not a resnet50 state_dict"):
        EmbeddingNet(BackboneConfig("resnet50", weights=str(tmp_path / "r18.pth")))
    with pytest.raises(ConfigError, match="backbone weights not found"):
        EmbeddingNet(BackboneConfig("resnet18", weights=str(tmp_path / "none.pth")))


def test_last_stride_one_doubles_the_final_feature_map() -> None:
    x = torch.rand(1, 3, 64, 64)
    for stride, side in [(2, 2), (1, 4)]:
        net = EmbeddingNet(BackboneConfig("resnet18", embed_dim=8, last_stride=stride)).eval()
        assert net.trunk(x).shape[-1] == side
    block = EmbeddingNet(BackboneConfig("resnet50", last_stride=1)).trunk[7][0]  # Bottleneck
    assert block.conv2.stride == block.downsample[0].stride == (1, 1)
