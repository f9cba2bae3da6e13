"""P x K identity sampler: batches of P identities with K images each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch

from reid.errors import ConfigError


class PKSampler:
    """Draws batches of `p` identities x `k` images from `pids` (one pid per dataset index).

    Per epoch, each identity's images are shuffled and cut into chunks of `k`; an identity with
    fewer than `k` images is filled up by sampling with replacement (one chunk). Batches take `p`
    random identities that still have chunks, until fewer than `p` remain. The draw depends only
    on (`seed`, epoch), so a resumed run sees the same batches.
    """

    def __init__(self, pids: Sequence[int], p: int, k: int, seed: int = 0) -> None:
        self.by_id: dict[int, list[int]] = defaultdict(list)
        for index, pid in enumerate(pids):
            self.by_id[pid].append(index)
        if len(self.by_id) < p:
            raise ConfigError(
                f"P x K sampling needs at least {p} identities, got {len(self.by_id)}"
            )
        self.p, self.k, self.seed = p, k, seed

    def batches(self, epoch: int) -> list[list[int]]:
        """The epoch's batches of dataset indices, each P*K long, identities in blocks of K."""
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        chunks: dict[int, list[list[int]]] = {}
        for pid, indices in self.by_id.items():
            if len(indices) < self.k:
                picks = torch.randint(len(indices), (self.k,), generator=gen).tolist()
            else:
                picks = torch.randperm(len(indices), generator=gen).tolist()
            order = [indices[i] for i in picks]
            chunks[pid] = [order[i : i + self.k] for i in range(0, len(order) - self.k + 1, self.k)]
        out = []
        while len(chunks) >= self.p:
            pids = list(chunks)
            chosen = [pids[i] for i in torch.randperm(len(pids), generator=gen)[: self.p].tolist()]
            batch = []
            for pid in chosen:
                batch += chunks[pid].pop()
                if not chunks[pid]:
                    del chunks[pid]
            out.append(batch)
        return out
