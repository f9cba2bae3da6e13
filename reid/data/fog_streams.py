"""Foggy training data (methods.md §3.3): a synthetic stream with clean targets and a "real" one.

Every training batch is fogged by a `reid.fog` preset after augmentation and keeps its clean
image as `Batch.clean` (SJDL's supervised stage). With `real` set, a share of the training
identities is held out as the "real" stream: one extra P x K batch of them every `real_every`
steps, fogged by a different generator, without a clean image (SJDL's unsupervised stage).

There is no real foggy vehicle data here: the "real" stream is the `REAL_FOG` stand-in (a
deliberate domain gap, see `reid.fog`), never real fog. Its identities are disjoint from the
synthetic stream's and keep their dataset-wide labels, so one classifier serves both streams.
Any method can train on these streams; only `sjdl` uses `Batch.clean`. (The `fvrid` layout reads
FVRID for those who own it; using FVRID_Real as the "real" stream is not wired in yet.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from reid.config import require
from reid.data.datasets import Batch, ImageCache, Sample
from reid.data.samplers import PKSampler
from reid.data.transforms import AugmentConfig
from reid.fog import FOG_PRESETS, add_fog


@dataclass(frozen=True)
class FogTrainConfig:
    synthetic: str = "synthetic"  # reid.fog preset for every training batch (supervised stream)
    real: str | None = "real"  # preset for the held-out "real" identities; None: no real stream
    real_fraction: float = 0.25  # share of the training identities held out as the "real" stream
    real_every: int = 1  # a "real" batch every n-th step (the paper: 1; the released code: 5)
    real_from_epoch: int = 0  # supervised warm-up: no "real" batch before this epoch (from 0)

    def __post_init__(self) -> None:
        for preset in (self.synthetic, self.real or self.synthetic):
            require(preset in FOG_PRESETS, f"fog presets must be one of {sorted(FOG_PRESETS)}")
        require(0.0 < self.real_fraction < 1.0, "fog.real_fraction must be in (0, 1)")
        require(self.real_every >= 1, "fog.real_every must be >= 1")
        require(self.real_from_epoch >= 0, "fog.real_from_epoch must be >= 0")


def split_identities(
    samples: Sequence[Sample], fraction: float, seed: int = 0
) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
    """(kept, held out): round(fraction x #ids) identities, chosen by `seed`, go to the second."""
    pids = sorted({s.pid for s in samples})
    order = torch.randperm(len(pids), generator=torch.Generator().manual_seed(seed)).tolist()
    held = {pids[i] for i in order[: round(fraction * len(pids))]}
    return (
        tuple(s for s in samples if s.pid not in held),
        tuple(s for s in samples if s.pid in held),
    )


class FogStreams:
    """Turns each step's clean batch into {"syn": fogged + clean target, "real": held-out fog}."""

    def __init__(
        self,
        cfg: FogTrainConfig,
        train: Sequence[Sample],
        input_size: tuple[int, int],
        p: int,
        k: int,
        seed: int = 0,
    ) -> None:
        self.cfg = cfg
        self.synthetic: tuple[Sample, ...] = tuple(train)  # what the main sampler should draw from
        self.real_cache: ImageCache | None = None
        if cfg.real is not None:
            self.synthetic, real = split_identities(train, cfg.real_fraction, seed)
            self.real_cache = ImageCache(real, input_size)
            self.real_sampler = PKSampler([s.pid for s in real], p, k, seed + 1)
        self._epoch, self._real_batches, self._drawn = -1, [], 0

    def step(
        self,
        batch: Batch,
        epoch: int,
        step: int,
        augment: AugmentConfig,
        generator: torch.Generator,
    ) -> dict[str, Batch]:
        """Step `step` (from 1) of `epoch`: {"syn": ..., "real": ... (every `real_every` steps
        from epoch `real_from_epoch` on)}.

        `batch` holds augmented clean images of the synthetic identities. The "real" batches
        cycle through the held-out identities' P x K batches for the epoch.
        """
        syn_fog = FOG_PRESETS[self.cfg.synthetic]
        out = {"syn": replace(batch, images=add_fog(batch.images, syn_fog, generator),
                              clean=batch.images)}  # fmt: skip
        warming_up = epoch < self.cfg.real_from_epoch
        if self.real_cache is None or step % self.cfg.real_every or warming_up:
            return out
        if epoch != self._epoch:
            batches = self.real_sampler.batches(epoch)
            self._epoch, self._real_batches, self._drawn = epoch, batches, 0
        indices = self._real_batches[self._drawn % len(self._real_batches)]
        self._drawn += 1
        real = self.real_cache.batch(indices, augment, generator)
        foggy = add_fog(real.images, FOG_PRESETS[self.cfg.real], generator)
        out["real"] = replace(real, images=foggy)
        return out
