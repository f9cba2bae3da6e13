"""The training loop on tiny synthetic images: checkpoints, logs, resume, config overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import reid.train
from reid.config import load_yaml
from reid.embedder import EmbedderConfig, load_embedder
from reid.enlighten import EnlightenConfig
from reid.errors import ConfigError
from reid.models.alsa import load_enhancer
from reid.train import load_train_config, train_from_yaml

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "reid" / "smoke.yaml"


def test_two_step_smoke_run_writes_a_loadable_checkpoint_and_resumes(
    uit_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    best = train_from_yaml(SMOKE, {"data.root": uit_root, "out_dir": out, "optim.epochs": 1})
    assert best == out / "best.pt" and (out / "last.pt").is_file()
    log = (out / "train.log").read_text()
    for term in ("lt=", "rsk=", "triplet=", "ce=", "total=", "eval epoch 1: original/R1="):
        assert term in log
    embed = load_embedder(EmbedderConfig(weights=str(best)))
    assert embed(np.zeros((1, 50, 40, 3), np.uint8)).shape == (1, 16)

    state = torch.load(out / "last.pt", weights_only=True)["state_dict"]
    train_from_yaml(SMOKE, {"data.root": uit_root, "out_dir": out})  # 2 epochs
    assert "resumed from" in (out / "train.log").read_text()
    resumed = torch.load(out / "last.pt", weights_only=True)
    assert resumed["epoch"] == 2
    assert not torch.equal(resumed["state_dict"]["net.fc.weight"], state["net.fc.weight"])

    fresh = train_from_yaml(SMOKE, {"data.root": uit_root, "out_dir": tmp_path / "fresh"})
    straight = torch.load(fresh.with_name("last.pt"), weights_only=True)["state_dict"]
    assert all(torch.equal(straight[k], v) for k, v in resumed["state_dict"].items())


def test_overrides_are_validated() -> None:
    cfg = load_train_config(SMOKE, {"optim.epochs": 5, "data.input_size": [48, 32]})
    assert cfg.optim.epochs == 5 and cfg.data.input_size == (48, 32)
    with pytest.raises(ConfigError, match=r"unknown key 'optim\.epochz'"):
        load_train_config(SMOKE, {"optim.epochz": 5})
    with pytest.raises(ConfigError, match="method must be one of"):
        load_train_config(SMOKE, {"method": "nope"})


def test_alsa_recipe_trains_the_enhancer_first_when_no_weights_are_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = []
    monkeypatch.setattr(
        reid.train, "train_enhancer", lambda cfg, out: calls.append(out) or out / "en_G.pt"
    )
    recipe = {"data": {"normal_dirs": [str(tmp_path)]}}
    cfg = load_train_config(SMOKE, {"enlighten": recipe})
    staged = reid.train._with_enhancer(cfg, tmp_path)
    assert calls == [tmp_path / "enlighten"]
    assert staged.model.alsa.en_weights == tmp_path / "enlighten" / "en_G.pt"
    given = load_train_config(SMOKE, {"enlighten": recipe, "model.alsa.en_weights": "en.pt"})
    assert reid.train._with_enhancer(given, tmp_path) is given and len(calls) == 1


def test_shipped_recipes_load_and_alsa_uses_the_shipped_en() -> None:
    configs = SMOKE.parent
    alsa = load_train_config(configs / "alsa.yaml")
    en = load_yaml(EnlightenConfig, configs / "enlighten.yaml")
    assert alsa.model.alsa.en_weights == Path("reid/weights/alsa_en.pt")
    assert load_enhancer(alsa.model.alsa.en_weights).width == en.en_width
    baseline = load_train_config(configs / "baseline.yaml")
    assert baseline.method == "baseline" and baseline.data == alsa.data


def test_learning_rate_warms_up_linearly_then_steps_down() -> None:
    cfg = load_train_config(SMOKE, {"optim.warmup_epochs": 4, "optim.milestones": [6, 8],
                                    "optim.gamma": 0.1})
    factors = [cfg.optim.lr_factor(e) for e in range(10)]
    np.testing.assert_allclose(factors, [0.1, 0.325, 0.55, 0.775, 1, 1, 0.1, 0.1, 0.01, 0.01])


def test_cli_keeps_every_repeated_set(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(reid.train, "train_from_yaml",
                        lambda config, overrides: seen.update(overrides) or Path("best.pt"))
    reid.train.main([str(SMOKE), "--set", "augment.night_camera=0.6", "optim.epochs=3",
                     "--set", "model.backbone.weights=trunk.pt", "--out", "o"])
    assert seen == {"augment.night_camera": 0.6, "optim.epochs": 3,
                    "model.backbone.weights": "trunk.pt", "out_dir": "o"}
    assert capsys.readouterr().out.strip() == "best.pt"
