"""Dataset folders -> `ReidData` (lists of `Sample`), and the in-RAM image cache for training.

Layouts (`LAYOUTS`), detected by `detect_layout` or named explicitly:

* `veri`: VeRi-776, `image_{train,query,test}/` with names `0001_c001_...jpg`.
* `vehicleid`: VehicleID, `train_test_split/{train_list,test_list_800}.txt` + `image/`.
* `veri-wild`: VERI-Wild, `train_test_split/{train_list,test_3000,test_3000_query,vehicle_info}.txt`
  + `images/{pid}/`.
* `fvrid`: one FVRID half (`FVRID_syn/` or `FVRID_real/`), `{train,query,gallery}_foggy/`.
* `uit`: `images/{class}_{NNNN}_cam{k}.jpg` (or the public `images/train/`, `images/test/`) +
  `train.txt` / `val.txt` / `test.txt` (names only; any may be missing but one evaluation list);
  identity = (class, NNNN), evaluated on `test.txt` when present, else `val.txt`.
* `list`: `train.txt`, `query.txt`, `gallery.txt`, each line `relative/path pid camid`.
* `folder`: `train/`, `query/`, `gallery/`, each with one sub-folder per identity; the camera is
  read from `c<digits>` in the file name (0 when absent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from reid import degrade
from reid.data.transforms import (
    AugmentConfig,
    augment,
    darkened_subset,
    random_fog,
    random_low_light,
    random_night_camera,
)
from reid.errors import ReidError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
PID_CAM = r"([-\d]+)_c(\d+)"  # VeRi / FVRID names: <pid>_c<camera>_...; pid -1 = junk
# how the evaluation set is split into queries and galleries (see reid.evaluate.protocol_trials)
QUERY_GALLERY, VEHICLEID_TRIALS, CAMERA_SWAP = "query-gallery", "vehicleid-10-trials", "camera-swap"


class DatasetError(ReidError):
    """A dataset folder is missing, empty, or not in the layout it claims."""


@dataclass(frozen=True)
class Sample:
    path: Path
    pid: int
    camid: int


@dataclass(frozen=True)
class ReidData:
    """A parsed dataset. `test` holds every evaluation image; `protocol` says how to split it.

    For `query-gallery`, `test[:num_query]` are the queries and the rest the gallery.
    Training pids are relabelled to 0..num_train_ids-1.
    """

    layout: str
    root: Path
    train: tuple[Sample, ...]
    test: tuple[Sample, ...]
    protocol: str
    num_query: int = 0

    @property
    def num_train_ids(self) -> int:
        return len({s.pid for s in self.train})


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _lines(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise DatasetError(f"missing list file: {path}")
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


def _relabel(samples: list[Sample]) -> tuple[Sample, ...]:
    mapping = {pid: i for i, pid in enumerate(sorted({s.pid for s in samples}))}
    return tuple(Sample(s.path, mapping[s.pid], s.camid) for s in samples)


def _parse_pid_cam(folder: Path) -> list[Sample]:
    """Files named `<pid>_c<cam>...` (VeRi, FVRID); pid -1 (junk) is skipped; cameras from 0."""
    if not folder.is_dir():
        raise DatasetError(f"missing image folder: {folder}")
    out = []
    for path in _images(folder):
        match = re.match(PID_CAM, path.name)
        if match is None:
            raise DatasetError(f"unexpected file name {path.name!r} in {folder}")
        pid, cam = int(match.group(1)), int(match.group(2))
        if pid >= 0:
            out.append(Sample(path, pid, cam - 1))
    return out


def _query_gallery(
    layout: str, root: Path, train: list[Sample], query: list[Sample], gallery: list[Sample]
) -> ReidData:
    return ReidData(
        layout, root, _relabel(train), tuple(query) + tuple(gallery), QUERY_GALLERY, len(query)
    )


def read_veri(root: Path, test_split: str | None = None) -> ReidData:
    """VeRi-776: `image_train/`, `image_query/`, `image_test/` (gallery)."""
    split = [_parse_pid_cam(root / d) for d in ("image_train", "image_query", "image_test")]
    return _query_gallery("veri", root, *split)


def read_fvrid(root: Path, test_split: str | None = None) -> ReidData:
    """One FVRID half; `test_split` picks the images: "foggy" (default) or "clear" (syn only)."""
    kind = test_split or "foggy"
    split = [_parse_pid_cam(root / f"{d}_{kind}") for d in ("train", "query", "gallery")]
    return _query_gallery("fvrid", root, *split)


def read_vehicleid(root: Path, test_split: str | None = None) -> ReidData:
    """VehicleID: list lines `image_name vehicle_id`; test list size 800 (default), 1600, 2400."""
    lists = root / "train_test_split"

    def read(name: str) -> list[Sample]:
        return [
            Sample(root / "image" / f"{img}.jpg", int(pid), 0)
            for img, pid, *_ in _lines(lists / name)
        ]

    test = read(f"test_list_{test_split or 800}.txt")
    return ReidData(
        "vehicleid", root, _relabel(read("train_list.txt")), tuple(test), VEHICLEID_TRIALS
    )


def read_veri_wild(root: Path, test_split: str | None = None) -> ReidData:
    """VERI-Wild: list lines `pid/image`; cameras from `vehicle_info.txt`; test 3000/5000/10000."""
    lists = root / "train_test_split"
    info = lists / "vehicle_info.txt"
    cams = {}
    if info.is_file():
        for line in info.read_text().splitlines():
            fields = line.strip().split(";")
            if len(fields) > 1 and fields[1].isdigit():
                cams[fields[0]] = int(fields[1])

    def read(name: str) -> list[Sample]:
        return [
            Sample(root / "images" / f"{key}.jpg", int(key.split("/")[0]), cams.get(key, 0))
            for key, *_ in _lines(lists / name)
        ]

    size = test_split or "3000"
    split = [read(n) for n in ("train_list.txt", f"test_{size}_query.txt", f"test_{size}.txt")]
    return _query_gallery("veri-wild", root, *split)


UIT_NAME = re.compile(r"^([A-Za-z]+)_(\d+)_cam(\d+)\.\w+$")


def _uit_image(root: Path, split: str, name: str) -> Path:
    """A UIT image: `images/<name>` (flat), or the public layout's `images/train/<name>` (train
    and val) / `images/test/<name>`."""
    folder = root / "images" / ("test" if split == "test" else "train")
    return folder / name if folder.is_dir() else root / "images" / name


def read_uit(root: Path, test_split: str | None = None) -> ReidData:
    """UIT two-camera crops: identity (class, NNNN), evaluated cam1<->cam2 on `test_split`
    (default `test.txt` when present, else `val.txt`); `train.txt` trains when present (an
    evaluation-only folder has just the test list). Images flat in `images/` or in the public
    layout's `images/train/` and `images/test/`."""
    split = test_split or ("test" if (root / "test.txt").is_file() else "val")
    names: dict[str, list[str]] = {"train": [], split: []}
    for name in names:
        if name != "train" or (root / "train.txt").is_file():
            names[name] = [line[0] for line in _lines(root / f"{name}.txt")]
    keys: dict[tuple[str, int], int] = {}
    out: dict[str, list[Sample]] = {}
    for name, files in names.items():
        out[name] = []
        for file in files:
            match = UIT_NAME.match(Path(file).name)
            if match is None:
                raise DatasetError(
                    f"{root / name}.txt: {file!r} is not {{class}}_{{NNNN}}_cam{{k}}"
                )
            pid = keys.setdefault((match.group(1), int(match.group(2))), len(keys))
            out[name].append(Sample(_uit_image(root, name, file), pid, int(match.group(3)) - 1))
    return ReidData("uit", root, _relabel(out["train"]), tuple(out[split]), CAMERA_SWAP)


def read_list(root: Path, test_split: str | None = None) -> ReidData:
    """Generic list files: `train.txt`, `query.txt`, `gallery.txt`, lines `path pid camid`."""

    def read(name: str) -> list[Sample]:
        out = []
        for fields in _lines(root / name):
            if len(fields) != 3:
                raise DatasetError(f"{root / name}: expected 'path pid camid', got {fields}")
            out.append(Sample(root / fields[0], int(fields[1]), int(fields[2])))
        return out

    return _query_gallery("list", root, *(read(f"{s}.txt") for s in ("train", "query", "gallery")))


def read_folder(root: Path, test_split: str | None = None) -> ReidData:
    """Generic folders `train/<id>/*`, `query/<id>/*`, `gallery/<id>/*`; camera from `c<n>`."""
    splits = ("train", "query", "gallery")
    for split in splits:
        if not (root / split).is_dir():
            raise DatasetError(f"missing image folder: {root / split}")
    folders = {s: sorted(p for p in (root / s).iterdir() if p.is_dir()) for s in splits}
    pids = {
        name: i for i, name in enumerate(sorted({f.name for fs in folders.values() for f in fs}))
    }

    def read(split: str) -> list[Sample]:
        out = []
        for folder in folders[split]:
            for path in _images(folder):
                cam = re.search(r"c(\d+)", path.stem)
                out.append(Sample(path, pids[folder.name], int(cam.group(1)) if cam else 0))
        return out

    return _query_gallery("folder", root, *(read(s) for s in splits))


LAYOUTS: dict[str, Callable[[Path, str | None], ReidData]] = {
    "veri": read_veri,
    "vehicleid": read_vehicleid,
    "veri-wild": read_veri_wild,
    "fvrid": read_fvrid,
    "uit": read_uit,
    "list": read_list,
    "folder": read_folder,
}


def detect_layout(root: str | Path) -> str:
    """Name the layout of `root` from its marker files; DatasetError if none fits."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    has = lambda name: (root / name).exists()  # noqa: E731
    if has("image_train") or has("image_query"):
        return "veri"
    if has("train_test_split") and has("image"):
        return "vehicleid"
    if has("train_test_split") and has("images"):
        return "veri-wild"
    if has("train_foggy") or has("query_foggy"):
        return "fvrid"
    if has("images") and (has("train.txt") or has("test.txt") or has("val.txt")):
        return "uit"
    if has("query.txt") or has("train.txt"):
        return "list"
    if has("query") or has("train"):
        return "folder"
    raise DatasetError(
        f"cannot tell the dataset layout of {root}; pass layout= one of {sorted(LAYOUTS)}"
    )


def read_dataset(
    root: str | Path, layout: str | None = None, test_split: str | None = None
) -> ReidData:
    """Parse `root` in `layout` (detected when None); DatasetError if it is unknown or empty."""
    root = Path(root)
    name = layout or detect_layout(root)
    if name not in LAYOUTS:
        raise DatasetError(f"unknown dataset layout {name!r}; choose one of {sorted(LAYOUTS)}")
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    data = LAYOUTS[name](root, test_split)
    if not data.train and not data.test:
        raise DatasetError(f"no images found in {root} (layout {name!r})")
    return data


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image as RGB uint8, resized to `size` = (height, width) when given."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError(f"cannot read image: {path}")
    if size is not None:
        bgr = cv2.resize(bgr, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class Batch:
    images: torch.Tensor  # (B, 3, H, W) float32 RGB in [0, 1]
    ids: torch.Tensor  # (B,) int64
    cameras: torch.Tensor  # (B,) int64
    clean: torch.Tensor | None = None  # (B, 3, H, W) fog-free target of synthetic fog, else None


class ImageCache:
    """`samples` held in RAM as (N, H, W, 3) RGB uint8 at `size` = (height, width).

    A fixed `dark_fraction` of them (chosen by `seed`) is stored multiplied by `dark_factor`:
    the paper's "darker" split (methods.md §1.8).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        size: tuple[int, int],
        dark_fraction: float = 0.0,
        dark_factor: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.samples = tuple(samples)
        self.images = np.empty((len(samples), size[0], size[1], 3), np.uint8)
        dark = darkened_subset(len(samples), dark_fraction, seed)
        for i, sample in enumerate(samples):
            image = load_rgb(sample.path, size)
            self.images[i] = degrade.darken(image, dark_factor) if dark[i] else image

    def batch(
        self,
        indices: Sequence[int],
        augment_cfg: AugmentConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> Batch:
        """Images at `indices` as a Batch; augmented (random low light, night camera, fog, then
        geometry) if asked."""
        images = self.images[list(indices)]
        if augment_cfg is not None:
            generator = generator or torch.Generator()
            images = random_low_light(images, augment_cfg.low_light, generator)
            images = random_night_camera(images, augment_cfg.night_camera, generator)
        tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        if augment_cfg is not None:
            tensor = augment(random_fog(tensor, augment_cfg.fog, generator), augment_cfg, generator)
        picked = [self.samples[i] for i in indices]
        return Batch(
            tensor, torch.tensor([s.pid for s in picked]), torch.tensor([s.camid for s in picked])
        )
