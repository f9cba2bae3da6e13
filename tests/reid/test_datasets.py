"""Dataset readers: every layout parsed from a hand-made folder, detection, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reid.data import DatasetError, ImageCache, Sample, detect_layout, read_dataset
from reid.data.datasets import CAMERA_SWAP, QUERY_GALLERY, VEHICLEID_TRIALS


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def ids_cams(samples: tuple[Sample, ...]) -> list[tuple[str, int, int]]:
    return [(s.path.name, s.pid, s.camid) for s in samples]


def test_uit_identity_is_class_and_number_and_val_is_camera_swap(tmp_path: Path) -> None:
    touch(tmp_path, "images/x")
    write(tmp_path / "train.txt", "car_0002_cam2.jpg\ncar_0002_cam1.jpg\nbus_0002_cam1.jpg\n")
    write(tmp_path / "val.txt", "truck_0007_cam1.jpg\ntruck_0007_cam2.jpg")
    data = read_dataset(tmp_path)
    assert data.layout == "uit" and data.protocol == CAMERA_SWAP
    # bus_0002 and car_0002 are different vehicles; train ids relabelled 0..n-1
    assert ids_cams(data.train) == [
        ("car_0002_cam2.jpg", 0, 1),
        ("car_0002_cam1.jpg", 0, 0),
        ("bus_0002_cam1.jpg", 1, 0),
    ]
    assert [(s.pid, s.camid) for s in data.test] == [(2, 0), (2, 1)]
    assert data.test[0].path == tmp_path / "images" / "truck_0007_cam1.jpg"


def test_veri_names_give_pid_and_zero_based_camera(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "image_train/0005_c003_00084045_0.jpg",
        "image_train/0009_c001_1_0.jpg",
        "image_query/0002_c002_1_0.jpg",
        "image_test/0002_c011_1_0.jpg",
        "image_test/-1_c001_1_0.jpg",
    )
    data = read_dataset(tmp_path)
    assert data.layout == "veri" and data.protocol == QUERY_GALLERY and data.num_query == 1
    assert [(s.pid, s.camid) for s in data.train] == [(0, 2), (1, 0)]
    assert [(s.pid, s.camid) for s in data.test] == [(2, 1), (2, 10)]  # junk pid -1 skipped


def test_vehicleid_lists_and_test_size(tmp_path: Path) -> None:
    touch(tmp_path, "image/x")
    write(tmp_path / "train_test_split/train_list.txt", "0000001 7\n0000002 7\n0000003 9\n")
    write(tmp_path / "train_test_split/test_list_800.txt", "0000004 11\n0000005 11\n")
    write(tmp_path / "train_test_split/test_list_1600.txt", "0000006 12\n")
    data = read_dataset(tmp_path)
    assert data.layout == "vehicleid" and data.protocol == VEHICLEID_TRIALS
    assert [(s.pid, s.camid) for s in data.train] == [(0, 0), (0, 0), (1, 0)]
    assert data.train[0].path == tmp_path / "image" / "0000001.jpg"
    assert [s.pid for s in data.test] == [11, 11]
    assert [s.pid for s in read_dataset(tmp_path, test_split="1600").test] == [12]


def test_veri_wild_cameras_come_from_vehicle_info(tmp_path: Path) -> None:
    touch(tmp_path, "images/x")
    lists = tmp_path / "train_test_split"
    write(
        lists / "vehicle_info.txt", "id/image;Camera ID;Time\n00001/000001;5;t\n00003/000010;2;t\n"
    )
    write(lists / "train_list.txt", "00001/000001\n")
    write(lists / "test_3000_query.txt", "00003/000010\n")
    write(lists / "test_3000.txt", "00003/000011\n")
    data = read_dataset(tmp_path)
    assert data.layout == "veri-wild" and data.num_query == 1
    assert data.train[0].path == tmp_path / "images" / "00001" / "000001.jpg"
    assert [(s.pid, s.camid) for s in data.test] == [(3, 2), (3, 0)]  # unknown camera -> 0


def test_fvrid_foggy_split(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "train_foggy/00000_c013_298403_0.jpg",
        "query_foggy/00004_c002_1_0.jpg",
        "gallery_foggy/00004_c005_1_0.jpg",
        "gallery_foggy/-1_c005_1_0.jpg",
    )
    data = read_dataset(tmp_path)
    assert data.layout == "fvrid"
    assert [(s.pid, s.camid) for s in data.train] == [(0, 12)]
    assert [(s.pid, s.camid) for s in data.test] == [(4, 1), (4, 4)]


def test_generic_list_and_folder_layouts(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    write(lists / "train.txt", "a.jpg 3 0\nb.jpg 3 1\n")
    write(lists / "query.txt", "c.jpg 8 0\n")
    write(lists / "gallery.txt", "d.jpg 8 1\ne.jpg 9 1\n")
    data = read_dataset(lists)
    assert data.layout == "list" and data.num_query == 1
    assert [(s.pid, s.camid) for s in data.test] == [(8, 0), (8, 1), (9, 1)]
    folder = tmp_path / "folder"
    touch(folder, "train/red/1_c2.jpg", "query/blue/1_c1.jpg", "gallery/blue/2_c3.png")
    data = read_dataset(folder)
    assert data.layout == "folder"
    assert data.test[0].pid == data.test[1].pid and data.train[0].pid == 0
    assert [s.camid for s in data.test] == [1, 3]


@pytest.mark.parametrize(
    "files, layout, message",
    [
        ((), None, "cannot tell the dataset layout"),
        (("train.txt",), "nonsense", "unknown dataset layout 'nonsense'"),
        (("image_query/x.jpg",), "veri", "missing image folder"),
        (("image_train/bad.jpg", "image_query/y", "image_test/z"), "veri", "unexpected file name"),
        (("images/x", "train.txt", "val.txt"), "uit", "no images found"),
    ],
    ids=["empty", "unknown-layout", "missing-split", "bad-name", "no-images"],
)
def test_bad_folders_raise_one_line_dataset_errors(
    tmp_path: Path, files: tuple[str, ...], layout: str | None, message: str
) -> None:
    touch(tmp_path, *files)
    with pytest.raises(DatasetError, match=message) as info:
        read_dataset(tmp_path, layout)
    assert "\n" not in str(info.value)


def test_missing_folder_and_detect_layout(tmp_path: Path, uit_root: Path) -> None:
    with pytest.raises(DatasetError, match="dataset folder not found"):
        read_dataset(tmp_path / "nowhere")
    assert detect_layout(uit_root) == "uit"


def test_image_cache_resizes_and_darkens_a_fixed_subset(uit_root: Path) -> None:
    data = read_dataset(uit_root)
    plain = ImageCache(data.train, (16, 12))
    dark = ImageCache(data.train, (16, 12), dark_fraction=0.25, dark_factor=0.3, seed=1)
    assert plain.images.shape == (12, 16, 12, 3) and plain.images.dtype == np.uint8
    changed = np.flatnonzero((plain.images != dark.images).any(axis=(1, 2, 3)))
    assert len(changed) == 3  # round(0.25 * 12)
    expected = np.clip(np.rint(plain.images[changed].astype(np.float32) * 0.3), 0, 255)
    assert np.array_equal(dark.images[changed], expected.astype(np.uint8))
    batch = plain.batch([0, 1, 5])
    assert batch.images.shape == (3, 3, 16, 12) and float(batch.images.max()) <= 1.0
    assert batch.ids.tolist() == [data.train[i].pid for i in (0, 1, 5)]


def test_uit_public_layout_and_an_evaluation_only_folder(tmp_path: Path) -> None:
    public = tmp_path / "public"
    touch(public, "images/train/car_0001_cam1.jpg", "images/test/bus_0003_cam1.jpg")
    write(public / "train.txt", "car_0001_cam1.jpg\ncar_0001_cam2.jpg\n")
    write(public / "val.txt", "car_0002_cam1.jpg\ncar_0002_cam2.jpg\n")
    write(public / "test.txt", "bus_0003_cam1.jpg\nbus_0003_cam2.jpg\n")
    data = read_dataset(public)
    assert data.layout == "uit" and len(data.train) == 2
    assert [s.path for s in data.test] == [public / "images/test/bus_0003_cam1.jpg",
                                           public / "images/test/bus_0003_cam2.jpg"]
    assert data.train[0].path == public / "images/train/car_0001_cam1.jpg"
    assert [s.path.name for s in read_dataset(public, test_split="val").test] == [
        "car_0002_cam1.jpg", "car_0002_cam2.jpg"]
    held_out = tmp_path / "held_out"  # test list and images only: evaluation, no training
    touch(held_out, "images/truck_0009_cam1.jpg")
    write(held_out / "test.txt", "truck_0009_cam1.jpg\ntruck_0009_cam2.jpg\n")
    data = read_dataset(held_out)
    assert data.layout == "uit" and data.train == () and len(data.test) == 2
