from pathlib import Path

import numpy as np
import pytest
import torch

from reid.embedder import EmbedderConfig, load_embedder
from reid.errors import ConfigError
from reid.fog_losses import SJDLLossConfig, defog_l2, unsupervised_defog_losses
from reid.models import BackboneConfig, ModelConfig, build_model
from reid.models.sjdl import FIRM, SJDL, SJDLConfig
from reid.train import train_from_yaml

from .conftest import write_uit

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "reid" / "sjdl.yaml"
RESNET18 = BackboneConfig(arch="resnet18", embed_dim=512)


def small_sjdl(num_ids: int = 5) -> SJDL:
    torch.manual_seed(0)
    return SJDL(RESNET18, SJDLConfig(), num_ids)


@pytest.fixture(scope="module")
def model() -> SJDL:
    """One eval-mode model shared by the read-only tests."""
    return small_sjdl().eval()


@pytest.mark.parametrize("layout", ["code", "paper"])
@pytest.mark.parametrize("size", [128, 256, 384])
def test_firm_output_shape_equals_input_shape(layout, size):
    firm = FIRM(feat_channels=64, stem_channels=64, layout=layout)
    image = torch.rand(1, 3, size, size)
    feats = torch.rand(1, 64, size // 4, size // 4)
    with torch.no_grad():
        coarse, refined = firm(feats, torch.rand_like(feats), image)
    assert refined.shape == image.shape
    assert (coarse is None) == (layout == "paper")
    if coarse is not None:
        assert coarse.shape == image.shape
    assert 0 <= refined.min() and refined.max() <= 1


def test_forward_shapes_follow_the_backbone_channels(model):
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 96))
    assert out.embedding.shape == (2, 512) and out.logits.shape == (2, 5)
    assert out.defogged.shape == out.coarse.shape == (2, 3, 64, 96)
    torch.testing.assert_close(out.embedding.norm(dim=1), torch.ones(2))


def test_embed_is_unit_norm_and_skips_the_defogging_branch(model):
    calls = []
    hook = model.firm.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        emb = model.embed(torch.rand(3, 3, 64, 64))
    hook.remove()
    assert emb.shape == (3, model.dim) == (3, 512)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    assert calls == []


def test_embed_matches_the_embedding_of_forward(model):
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = model(images)
        torch.testing.assert_close(model.embed(images), out.embedding)


def test_fog_losses_reach_firm_and_cfsm_but_not_reidm():
    model = small_sjdl(num_ids=0)
    foggy, clean = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    out = model(foggy)
    assert out.logits is None  # built without a classifier
    losses = unsupervised_defog_losses(out.defogged, foggy, SJDLLossConfig())
    total = sum(losses.values()) + defog_l2(out.defogged, clean, out.coarse)
    total.backward()
    for part in (model.firm, model.stem, model.layer1):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None for p in model.reidm.parameters())


def test_bn_neck_shift_is_frozen_and_the_classifier_has_no_bias(model):
    assert not model.neck.bias.requires_grad
    assert model.classifier.bias is None


def test_built_by_name_and_configuration_errors_are_explained():
    assert isinstance(build_model("sjdl", ModelConfig(backbone=RESNET18), 4), SJDL)
    with pytest.raises(ConfigError, match="firm"):
        SJDLConfig(firm="unet")
    with pytest.raises(ConfigError, match="embed_dim: 512"):
        SJDL(BackboneConfig(arch="resnet18", embed_dim=256), SJDLConfig())


def test_two_step_training_smoke_run(tmp_path: Path) -> None:
    root = write_uit(tmp_path / "uit", train_ids=8, val_ids=3)
    overrides = {
        "data.root": root,
        "out_dir": tmp_path / "run",
        "data.input_size": [32, 32],
        "data.p": 2,
        "fog.real_fraction": 0.5,
        "optim.epochs": 1,
        "optim.iters_per_epoch": 2,
        "eval.conditions": ["original", "fog-real"],
    }
    best = train_from_yaml(RECIPE, overrides)
    log = (tmp_path / "run" / "train.log").read_text()
    for term in ("syn/triplet=", "syn/ce=", "syn/defog_l2=", "real/ce=", "real/colour_entropy=",
                 "real/dark_channel=", "real/total_variation=", "real/self_constraint=",
                 "eval epoch 1: original/R1=", "fog-real/mAP="):  # fmt: skip
        assert term in log
    embed = load_embedder(EmbedderConfig(weights=str(best)))
    vectors = embed(np.zeros((2, 50, 40, 3), np.uint8))
    assert vectors.shape == (2, 1280)  # the recipe's MobileNetV2 trunk width
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
