"""ALSA module: GCA threshold semantics, SSA identity start, EN shapes, the EN skip, EN loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reid.errors import CheckpointError, ConfigError
from reid.models.alsa import (
    EN_FORMAT,
    GCA,
    SSA,
    ALSAConfig,
    ALSACorrection,
    EnhancementNet,
    load_enhancer,
    threshold_alpha,
)

A = torch.tensor([0.5, 0.79, 0.8, 0.81, 0.95])


def test_gca_threshold_text_mode_sets_values_above_t_to_one() -> None:
    assert torch.equal(threshold_alpha(A, 0.8, "text"), torch.tensor([0.5, 0.79, 0.8, 1.0, 1.0]))


def test_gca_threshold_torch_literal_mode_is_f_threshold() -> None:
    expected = torch.tensor([1.0, 1.0, 1.0, 0.81, 0.95])
    assert torch.equal(threshold_alpha(A, 0.8, "torch_literal"), expected)


def test_gca_is_parameter_free_and_uses_sigmoid_of_mean_plus_max() -> None:
    gca = GCA(0.8, "text")
    assert list(gca.parameters()) == []
    x = torch.zeros(2, 3, 4, 4)
    x[0] = 0.2  # a = sigmoid(0.4) ≈ 0.599 -> kept
    x[1, :, 0, 0] = 1.0  # mean 1/16, max 1: a = sigmoid(1.0625) ≈ 0.743 -> kept
    x[1, 0] = 0.9  # red: a = sigmoid(1.8) ≈ 0.858 > t -> 1
    alpha = gca(x)
    assert alpha.shape == (2, 3, 1, 1)
    assert torch.allclose(alpha[0].flatten(), torch.sigmoid(torch.tensor(0.4)).expand(3))
    assert alpha[1, 0].item() == 1.0
    assert torch.allclose(alpha[1, 1:].flatten(), torch.sigmoid(torch.tensor(1 + 1 / 16)).expand(2))


def test_ssa_starts_as_identity() -> None:
    torch.manual_seed(0)
    ssa = SSA(dim=64, heads=4)
    x_m = torch.rand(3, 3, 40, 56)
    beta = ssa(x_m)
    assert beta.shape == (3, 3, 1, 1)
    assert torch.equal(beta, torch.zeros_like(beta))
    assert torch.equal((1 + beta) * x_m, x_m)
    assert torch.equal(ssa.query.detach(), torch.ones(1, 4, 1, 16))


@pytest.mark.parametrize("size", [(64, 64), (100, 60), (128, 96)])
def test_en_output_shape_equals_input_shape(size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    assert EnhancementNet(width=4).eval()(x).shape == x.shape


def _model(**kw: object) -> tuple[ALSACorrection, list[int]]:
    """ALSA (eval mode) with a hook recording the batch size of every EN call."""
    torch.manual_seed(0)
    model = ALSACorrection(ALSAConfig(en_width=4, **kw)).eval()
    calls: list[int] = []
    model.en.register_forward_hook(lambda _m, inp, _out: calls.append(inp[0].shape[0]))
    return model, calls


def test_bright_batch_never_runs_the_en() -> None:
    model, calls = _model()
    x = torch.rand(4, 3, 32, 32) * 0.5 + 0.5  # a ≥ sigmoid(0.5 + ~1) > 0.8 in every channel
    out = model.correct(x)
    assert calls == []
    assert torch.equal(out.alpha, torch.ones(4, 3, 1, 1))
    assert torch.equal(out.image, x) and out.index.numel() == 0


def test_mixed_batch_runs_the_en_on_dark_images_only() -> None:
    model, calls = _model()
    x = torch.rand(5, 3, 32, 48)
    x[[1, 3]] *= 0.3
    out = model.correct(x)
    assert calls == [2]
    assert out.index.tolist() == [1, 3]
    assert torch.equal(out.image[[0, 2, 4]], x[[0, 2, 4]])
    a, x_m = out.alpha[[1, 3]], model.en(x[[1, 3]]).clamp(0, 1)
    assert torch.allclose(out.image[[1, 3]], (a * x[[1, 3]] + (1 - a) * x_m).clamp(0, 1))
    assert torch.equal(model(x), out.image)


def test_frozen_en_stays_in_eval_mode_and_only_ssa_trains() -> None:
    model, _ = _model()
    model.train()
    assert not model.en.training and model.ssa.training
    assert not any(p.requires_grad for p in model.en.parameters())
    model(torch.rand(2, 3, 32, 32) * 0.3).sum().backward()
    assert model.ssa.out.weight.grad is not None and model.ssa.out.weight.grad.abs().sum() > 0


def test_config_rejects_unknown_gca_mode() -> None:
    with pytest.raises(ConfigError, match="gca_mode"):
        ALSAConfig(gca_mode="cbam")


def test_load_enhancer_round_trip_and_errors(tmp_path: Path) -> None:
    net = EnhancementNet(4)
    path = tmp_path / "en.pt"
    torch.save({"format": EN_FORMAT, "width": 4, "state_dict": net.state_dict()}, path)
    model = ALSACorrection(ALSAConfig(en_width=4, en_weights=path))
    assert torch.equal(model.en.head.weight, net.head.weight)
    with pytest.raises(CheckpointError, match="width 4"):
        load_enhancer(path, width=8)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_enhancer(path)
    with pytest.raises(CheckpointError, match="not found"):
        load_enhancer(tmp_path / "missing.pt")
