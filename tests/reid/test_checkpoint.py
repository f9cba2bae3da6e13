"""Checkpoints: round trip, clear errors for bad files, fp16 export, and the Embedder contract."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from reid.checkpoint import (
    export_checkpoint,
    load_checkpoint,
    model_blob,
    read_checkpoint,
    save_checkpoint,
)
from reid.embedder import EmbedderConfig, load_embedder
from reid.errors import CheckpointError, ConfigError
from reid.models import BackboneConfig, ModelConfig, build_model
from reid.models.alsa import ALSAConfig

CFG = ModelConfig(
    BackboneConfig("resnet18", embed_dim=16),
    ALSAConfig(en_width=2, ssa_dim=8, ssa_heads=2, en_weights=Path("/absent/en.pt")),
)
SIZE = (32, 24)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """An ALSA checkpoint with a classifier; its config names an EN file that does not exist."""
    torch.manual_seed(0)
    model = build_model(
        "alsa",
        dataclasses.replace(CFG, alsa=dataclasses.replace(CFG.alsa, en_weights=None)),
        num_ids=4,
    ).eval()
    blob = model_blob("alsa", CFG, model, SIZE, 4, epoch=3, metrics={"original/R1": 0.5})
    path = save_checkpoint(tmp_path_factory.mktemp("ckpt") / "best.pt", blob)
    return path, model


def test_round_trip_rebuilds_the_same_model(saved: tuple[Path, torch.nn.Module]) -> None:
    path, model = saved
    loaded, blob = load_checkpoint(path)
    assert blob["method"] == "alsa" and blob["epoch"] == 3 and blob["input_size"] == [32, 24]
    assert blob["embedding_dim"] == 16 and blob["metrics"] == {"original/R1": 0.5}
    x = torch.rand(3, 3, *SIZE) * 0.4
    with torch.no_grad():
        assert torch.equal(loaded.embed(x), model.embed(x))
    assert not path.with_name("best.pt.tmp").exists()


def test_truncated_checkpoint_is_a_clear_error(
    saved: tuple[Path, torch.nn.Module], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.pt"
    data = saved[0].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*cut\.pt \(truncated"):
        load_checkpoint(cut)


def test_other_bad_files_name_the_problem(
    saved: tuple[Path, torch.nn.Module], tmp_path: Path
) -> None:
    with pytest.raises(CheckpointError, match=r"checkpoint not found: .*none\.pt"):
        read_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt is not a reid checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    blob = torch.load(saved[0], weights_only=True)
    save_checkpoint(tmp_path / "method.pt", {**blob, "method": "vit"})
    with pytest.raises(CheckpointError, match=r"method\.pt: unknown method 'vit'"):
        read_checkpoint(tmp_path / "method.pt")
    config = {**blob["config"], "backbone": {**blob["config"]["backbone"], "embed_dim": 8}}
    save_checkpoint(tmp_path / "shape.pt", {**blob, "config": config})
    with pytest.raises(CheckpointError, match=r"shape\.pt: weights do not match the 'alsa' model"):
        load_checkpoint(tmp_path / "shape.pt")


def test_fp16_export_drops_training_parts(
    saved: tuple[Path, torch.nn.Module], tmp_path: Path
) -> None:
    path, model = saved
    out = export_checkpoint(path, tmp_path / "small.pt")
    blob = read_checkpoint(out)
    assert blob["num_ids"] == 0 and not any("classifier" in k for k in blob["state_dict"])
    assert blob["state_dict"]["net.fc.weight"].dtype == torch.float16
    assert out.stat().st_size < 0.6 * path.stat().st_size
    loaded, _ = load_checkpoint(out)
    x = torch.rand(2, 3, *SIZE) * 0.4
    with torch.no_grad():
        assert torch.allclose(loaded.embed(x), model.embed(x), atol=5e-3)


def test_embedder_reads_bgr_crops(saved: tuple[Path, torch.nn.Module]) -> None:
    path, model = saved
    embed = load_embedder(EmbedderConfig(weights=str(path), batch_size=2, backend="torch"))
    assert embed.dim == 16 and embed.name == "alsa:best.pt"
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (40, 30, 3), dtype=np.uint8) for _ in range(3)]
    out = embed(crops)
    assert out.shape == (3, 16) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    swapped = embed([np.ascontiguousarray(c[..., ::-1]) for c in crops])
    assert not np.allclose(out, swapped, atol=1e-3)  # BGR and RGB are not confused
    rgb = np.stack([cv2.cvtColor(cv2.resize(c, (24, 32)), cv2.COLOR_BGR2RGB) for c in crops])
    with torch.no_grad():
        direct = model.embed(torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255)
    assert np.allclose(out, direct.numpy(), atol=1e-5)  # the swap is undone exactly once
    assert embed([]).shape == (0, 16)


def test_shipped_models_are_found_by_name_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reid.embedder import SHIPPED, WEIGHTS_DIR, resolve_weights

    monkeypatch.chdir(tmp_path)
    assert resolve_weights("alsa") == str(WEIGHTS_DIR / "alsa.pt")
    assert all(Path(resolve_weights(name)).is_file() for name in SHIPPED)
    assert resolve_weights("runs/x.pt") == "runs/x.pt"
    embed = load_embedder(EmbedderConfig(weights="alsa"))
    vectors = embed([np.zeros((40, 30, 3), np.uint8)])
    assert vectors.shape == (1, embed.dim)


def test_openvino_backend_embeds_like_torch_and_caches_the_converted_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCVRT_CACHE", str(tmp_path / "cache"))
    crops = [np.random.default_rng(i).integers(0, 256, (40 + i, 30, 3), dtype=np.uint8)
             for i in range(4)]
    crops.append((crops[0] * 0.2).astype(np.uint8))  # dark enough for ALSA's correction to run
    torch_rows = load_embedder(EmbedderConfig(weights="alsa", backend="torch"))(crops)
    ov_rows = load_embedder(EmbedderConfig(weights="alsa", backend="openvino"))(crops)
    np.testing.assert_allclose(ov_rows, torch_rows, atol=1e-4)  # f32, as PyTorch
    cached = list((tmp_path / "cache" / "openvino").glob("*.xml"))
    assert len(cached) == 1 and cached[0].with_suffix(".bin").is_file()
    again = load_embedder(EmbedderConfig(weights="alsa", backend="openvino"))(crops)
    np.testing.assert_allclose(again, ov_rows, atol=1e-6)
    assert len(list((tmp_path / "cache" / "openvino").glob("*.xml"))) == 1
    assert EmbedderConfig(backend="auto").runtime == "openvino"
    with pytest.raises(ConfigError, match="cpu device only"):
        EmbedderConfig(backend="openvino", device="cuda")


def test_openvino_backend_works_without_a_writable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("MCVRT_CACHE", str(blocker))  # mkdir under a file fails
    crops = [np.full((40, 30, 3), 120, np.uint8)]
    rows = load_embedder(EmbedderConfig(weights="sjdl", backend="openvino"))(crops)
    expected = load_embedder(EmbedderConfig(weights="sjdl", backend="torch"))(crops)
    np.testing.assert_allclose(rows, expected, atol=1e-4)
