import pytest
import torch

from reid.errors import ConfigError
from reid.fog_losses import SJDLLossConfig, defog_l2, unsupervised_defog_losses
from reid.models.sjdl import FIRM, SJDL, SJDLConfig


def small_sjdl(num_real_ids: int = 3) -> SJDL:
    torch.manual_seed(0)
    return SJDL(SJDLConfig(backbone="resnet18", num_ids=5, num_real_ids=num_real_ids))


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


def test_forward_shapes_follow_the_backbone_channels():
    model = small_sjdl()
    out = model(torch.rand(2, 3, 64, 64))
    assert out.embedding.shape == out.bn_embedding.shape == (2, 512)
    assert out.logits.shape == (2, 5) and out.logits_real.shape == (2, 3)
    assert out.defogged.shape == out.coarse.shape == (2, 3, 64, 64)
    assert small_sjdl(num_real_ids=0)(torch.rand(2, 3, 32, 32)).logits_real is None


def test_embed_is_unit_norm_and_skips_the_defogging_branch():
    model = small_sjdl().eval()
    calls = []
    model.firm.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        emb = model.embed(torch.rand(3, 3, 64, 64))
    assert emb.shape == (3, model.dim) == (3, 512)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    assert calls == []


def test_embed_matches_the_normalised_bn_embedding_of_forward():
    model = small_sjdl().eval()
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = model(images)
        expected = torch.nn.functional.normalize(out.bn_embedding)
        torch.testing.assert_close(model.embed(images), expected)


def test_fog_losses_reach_firm_and_cfsm_but_not_reidm():
    model = small_sjdl()
    foggy, clean = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    out = model(foggy)
    losses = unsupervised_defog_losses(out.defogged, foggy, SJDLLossConfig())
    total = sum(losses.values()) + defog_l2(out.defogged, clean, out.coarse)
    total.backward()
    for part in (model.firm, model.stem, model.layer1):
        grads = [p.grad for p in part.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None for p in model.reidm.parameters())


def test_bn_neck_shift_is_frozen_and_classifiers_have_no_bias():
    model = small_sjdl()
    assert not model.neck.bias.requires_grad
    assert model.classifier.bias is None and model.classifier_real.bias is None


def test_config_rejects_unknown_backbone_and_layout():
    with pytest.raises(ConfigError, match="backbone"):
        SJDLConfig(backbone="vgg16")
    with pytest.raises(ConfigError, match="firm"):
        SJDLConfig(firm="unet")
