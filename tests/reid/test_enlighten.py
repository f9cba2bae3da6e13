"""EN training (EnlightenGAN recipe): darkening, discriminator shapes, VGG cut, 2-step smoke run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torchvision.io import write_png

from reid.config import load_yaml
from reid.enlighten import EnlightenConfig, train_enhancer
from reid.enlighten_data import EnlightenData, synthesize_low_light
from reid.errors import CheckpointError
from reid.models.alsa import ALSAConfig, ALSACorrection
from reid.models.enlighten_gan import discriminator, vgg_features

REPO = Path(__file__).resolve().parents[2]


def test_synthetic_low_light_is_dark_and_deterministic() -> None:
    img = np.random.default_rng(0).integers(128, 256, (40, 30, 3), dtype=np.uint8)
    outs = []
    for seed in range(12):
        out = synthesize_low_light(img, np.random.default_rng(seed), max_luma=0.25)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert (out.reshape(-1, 3) @ np.array([0.299, 0.587, 0.114])).mean() / 255 < 0.25
        outs.append(out)
    assert np.array_equal(outs[3], synthesize_low_light(img, np.random.default_rng(3)))


def test_discriminator_patch_maps_match_the_spec() -> None:
    assert discriminator(5, 8)(torch.zeros(1, 3, 224, 224)).shape == (1, 1, 10, 10)
    assert discriminator(4, 8)(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 5, 5)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator(5, 8).modules())


def test_vgg_cut_points() -> None:
    x = torch.rand(1, 3, 32, 32)
    assert vgg_features("relu3_3", None)(x).shape == (1, 256, 8, 8)
    assert vgg_features("relu5_1", None)(x).shape == (1, 512, 4, 4)  # 4th max-pool skipped


def test_vgg_loads_torchvision_weights_at_torchvision_indices(tmp_path: Path) -> None:
    cfg = torchvision.models.vgg.cfgs["D"]
    full = torchvision.models.vgg.make_layers([*cfg[:14], 512]).eval()  # torchvision indices 0-25
    torch.save({f"features.{k}": v for k, v in full.state_dict().items()}, tmp_path / "vgg.pt")
    x = torch.rand(1, 3, 32, 32)
    expected = torch.nn.Sequential(*(full[i] for i in [*range(23), 24, 25]))(x)
    assert torch.allclose(vgg_features("relu5_1", tmp_path / "vgg.pt")(x), expected)


def test_shipped_config_parses() -> None:
    cfg = load_yaml(EnlightenConfig, REPO / "configs/reid/enlighten.yaml")
    assert cfg.en_width == 8 and cfg.data.crop == 96 and cfg.batch == 4


def _folders(tmp: Path) -> tuple[Path, Path]:
    gen = torch.Generator().manual_seed(0)
    normal, low = tmp / "normal", tmp / "low"
    normal.mkdir()
    low.mkdir()
    for i in range(6):
        for cam in (1, 2):
            img = (torch.rand(3, 36, 44, generator=gen) * 128 + 127).to(torch.uint8)
            write_png(img, str(normal / f"car_{i:04d}_cam{cam}.png"))
    for i in range(4):
        write_png(
            (torch.rand(3, 40, 40, generator=gen) * 60).to(torch.uint8), str(low / f"n{i}.png")
        )
    return normal, low


def test_two_step_training_writes_an_en_that_alsa_loads(tmp_path: Path) -> None:
    normal, low = _folders(tmp_path)
    (tmp_path / "list.txt").write_text("\n".join(p.name for p in sorted(normal.iterdir())[:10]))
    data = EnlightenData(
        normal_dirs=(normal,), normal_list=tmp_path / "list.txt", low_dirs=(low,), crop=32
    )
    cfg = EnlightenConfig(
        data=data,
        en_width=4,
        d_width=8,
        batch=2,
        patch=16,
        n_patches=2,
        threads=1,  # tiny tensors: one thread avoids oversubscription on busy CPUs
        sfp_layer="relu3_3",
        iterations=2,
        decay_from=1,
        log_every=1,
        save_every=1,
        monitor_pairs=2,
    )
    out = tmp_path / "run"
    en_path = train_enhancer(cfg, out)
    assert (
        en_path == out / "en_G.pt" and (out / "last.pt").exists() and (out / "preview.png").exists()
    )
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[0]["event"] == "start" and "random-init" in records[0]["sfp"]
    assert records[0]["images"] == {"normal": 6, "synthetic_low": 4, "real_low": 4}  # 5 ids listed
    losses = [r for r in records if "g_total" in r]
    assert [r["iteration"] for r in losses] == [1, 2]
    keys = {"g_global", "g_local", "sfp_global", "sfp_local", "sobel", "d_global", "d_local"}
    assert keys <= losses[0].keys() and all(
        torch.isfinite(torch.tensor(r["g_total"])) for r in losses
    )

    model = ALSACorrection(ALSAConfig(en_width=4, en_weights=en_path)).eval()
    x = torch.rand(2, 3, 24, 40) * 0.3
    assert model(x).shape == x.shape

    train_enhancer(replace(cfg, iterations=3), out)  # resumes from last.pt
    resumed = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in resumed if "g_total" in r] == [1, 2, 3]
    with pytest.raises(CheckpointError, match="en_width"):
        train_enhancer(replace(cfg, en_width=8), out)
