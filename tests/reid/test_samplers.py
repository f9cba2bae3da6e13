"""P x K sampler: batch shape, K per identity, replacement for small identities, determinism."""

from __future__ import annotations

from collections import Counter

import pytest

from reid.data import PKSampler
from reid.errors import ConfigError

# identity -> number of images: 0..3 have 4+, identity 4 has only 1, identity 5 has 9
PIDS = [0] * 4 + [1] * 5 + [2] * 4 + [3] * 8 + [4] + [5] * 9


def test_batches_hold_p_identities_with_k_images_each() -> None:
    sampler = PKSampler(PIDS, p=3, k=4, seed=0)
    batches = sampler.batches(0)
    # chunks of 4 per identity: 1 + 1 + 1 + 2 + 1 (filled with replacement) + 2 = 8 -> 2 batches
    assert len(batches) == 2
    seen: Counter[int] = Counter()
    for batch in batches:
        assert len(batch) == 12
        pids = [PIDS[i] for i in batch]
        assert [pids[i] for i in range(0, 12, 4)] == [pids[i + 1] for i in range(0, 12, 4)]
        assert sorted(Counter(pids).values()) == [4, 4, 4] and len(set(pids)) == 3
        seen.update(pids)
    assert all(count % 4 == 0 for count in seen.values())


def test_small_identity_is_sampled_with_replacement() -> None:
    sampler = PKSampler([0, 1, 1, 1, 1], p=2, k=4, seed=3)
    (batch,) = sampler.batches(0)
    assert batch.count(0) == 4  # the single image of identity 0, four times
    assert sorted(i for i in batch if i != 0) == [1, 2, 3, 4]  # enough images: no repeats


def test_same_seed_and_epoch_give_same_batches() -> None:
    a, b = PKSampler(PIDS, 2, 2, seed=7), PKSampler(PIDS, 2, 2, seed=7)
    assert a.batches(3) == b.batches(3)
    assert a.batches(3) != a.batches(4)
    assert PKSampler(PIDS, 2, 2, seed=8).batches(3) != a.batches(3)


def test_too_few_identities_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 7 identities, got 6"):
        PKSampler(PIDS, p=7, k=2)
