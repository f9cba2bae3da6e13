from pathlib import Path

import pytest
import torch

from reid.data.datasets import ImageCache, read_dataset
from reid.data.fog_streams import FogStreams, FogTrainConfig, split_identities
from reid.data.transforms import AugmentConfig
from reid.errors import ConfigError

from .conftest import write_uit

NO_AUGMENT = AugmentConfig(flip=0.0, pad=0, erase=0.0)


@pytest.fixture
def train(tmp_path: Path):
    return read_dataset(write_uit(tmp_path / "uit", train_ids=8, val_ids=1)).train


def test_split_identities_is_disjoint_deterministic_and_complete(train):
    kept, held = split_identities(train, 0.25, seed=1)
    assert len({s.pid for s in held}) == 2 and len(kept) + len(held) == len(train)
    assert not {s.pid for s in kept} & {s.pid for s in held}
    assert split_identities(train, 0.25, seed=1) == (kept, held)
    assert split_identities(train, 0.25, seed=2) != (kept, held)


def test_steps_pair_fog_with_clean_targets_and_add_real_batches(train):
    cfg = FogTrainConfig(real_fraction=0.5, real_every=2)
    streams = FogStreams(cfg, train, (32, 32), p=2, k=2, seed=0)
    real_ids = {s.pid for s in train} - {s.pid for s in streams.synthetic}
    clean = ImageCache(streams.synthetic, (32, 32)).batch([0, 1, 2, 3])
    gen = torch.Generator().manual_seed(0)
    first = streams.step(clean, epoch=0, step=1, augment=NO_AUGMENT, generator=gen)
    assert list(first) == ["syn"]
    assert first["syn"].clean is clean.images
    assert not torch.equal(first["syn"].images, clean.images)
    second = streams.step(clean, epoch=0, step=2, augment=NO_AUGMENT, generator=gen)
    real = second["real"]
    assert real.clean is None and real.images.shape == (4, 3, 32, 32)
    assert set(real.ids.tolist()) <= real_ids


def test_warm_up_epochs_have_no_real_batches(train):
    streams = FogStreams(FogTrainConfig(real_from_epoch=2), train, (32, 32), p=2, k=2)
    clean = ImageCache(streams.synthetic, (32, 32)).batch([0, 1, 2, 3])
    gen = torch.Generator().manual_seed(0)
    assert [list(streams.step(clean, e, 1, NO_AUGMENT, gen)) for e in (0, 1, 2)] == [
        ["syn"], ["syn"], ["syn", "real"]]


def test_without_a_real_stream_every_identity_is_synthetic(train):
    streams = FogStreams(FogTrainConfig(real=None), train, (32, 32), p=2, k=2)
    assert streams.synthetic == tuple(train)
    clean = ImageCache(train[:4], (32, 32)).batch([0, 1, 2, 3])
    assert list(streams.step(clean, 0, 1, NO_AUGMENT, torch.Generator())) == ["syn"]


def test_config_rejects_unknown_presets_and_bad_fractions():
    with pytest.raises(ConfigError, match="presets"):
        FogTrainConfig(real="fvrid")
    with pytest.raises(ConfigError, match="real_fraction"):
        FogTrainConfig(real_fraction=1.0)
    with pytest.raises(ConfigError, match="real_from_epoch"):
        FogTrainConfig(real_from_epoch=-1)
