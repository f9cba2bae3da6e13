"""Fixtures for the reid core tests: a tiny synthetic dataset in the UIT two-camera layout."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


def write_uit(
    root: Path,
    train_ids: int = 6,
    val_ids: int = 3,
    size: tuple[int, int] = (40, 30),
    seed: int = 0,
) -> Path:
    """`root/images/car_NNNN_cam{1,2}.jpg`: one flat colour per identity (plus noise) and
    `train.txt` / `val.txt` splitting the identities."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    lists: dict[str, list[str]] = {"train": [], "val": []}
    for pid in range(train_ids + val_ids):
        colour = rng.integers(0, 256, 3)
        for cam in (1, 2):
            noise = rng.normal(0, 8, (*size, 3))
            image = np.clip(colour + noise, 0, 255).astype(np.uint8)
            name = f"car_{pid:04d}_cam{cam}.jpg"
            cv2.imwrite(str(root / "images" / name), image)
            lists["train" if pid < train_ids else "val"].append(name)
    for split, names in lists.items():
        (root / f"{split}.txt").write_text("\n".join(names))
    return root


@pytest.fixture
def uit_root(tmp_path: Path) -> Path:
    return write_uit(tmp_path / "uit")
