from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from mcvrt.export import (
    atomic_write,
    number_cameras,
    write_aicity,
    write_json,
    write_mot,
    write_tracks_csv,
)
from mcvrt.types import Tracklet

Factory = Callable[..., Tracklet]


@pytest.fixture
def two_tracklets(tracklet_factory: Factory) -> list[Tracklet]:
    """c002/7 (a bus, 2 frames) and c001/3 (a COCO id 4, 1 frame, clock 1.5 s ahead)."""
    return [
        tracklet_factory("c002", 7, [4, 6], class_id=5,
                         xyxy=[[10.5, 20.25, 50.5, 60.0], [12.0, 20.0, 52.0, 61.126]],
                         confidence=[0.5, 0.8765]),
        tracklet_factory("c001", 3, [5], class_id=4, fps=25.0, time_offset_s=1.5,
                         xyxy=[[0.0, 1.0, 100.0, 51.5]], confidence=[0.25]),
    ]


def test_write_tracks_csv_exact(tmp_path: Path, two_tracklets: list[Tracklet]) -> None:
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, two_tracklets, {("c002", 7): 2, ("c001", 3): 1})
    assert path.read_text() == (
        "camera_id,frame,time_s,track_id,global_id,x,y,w,h,confidence,class\n"
        "c001,5,1.700,3,1,0.00,1.00,100.00,50.50,0.250,4\n"
        "c002,4,0.400,7,2,10.50,20.25,40.00,39.75,0.500,bus\n"
        "c002,6,0.600,7,2,12.00,20.00,40.00,41.13,0.877,bus\n"
    )


def test_write_tracks_csv_orders_by_camera_frame_track(tmp_path: Path,
                                                       tracklet_factory: Factory) -> None:
    tracklets = [tracklet_factory("b", 2, [1, 3]), tracklet_factory("b", 1, [2, 3]),
                 tracklet_factory("a", 9, [8])]
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, tracklets, {("b", 2): 1, ("b", 1): 2, ("a", 9): 3})
    keys = [[*line.split(",")[:2], line.split(",")[3]] for line in path.read_text().split()[1:]]
    assert keys == [["a", "8", "9"], ["b", "1", "2"], ["b", "2", "1"], ["b", "3", "1"],
                    ["b", "3", "2"]]


def test_write_mot_exact(tmp_path: Path, tracklet_factory: Factory) -> None:
    tracklets = [
        tracklet_factory("c1", 7, [4, 6], xyxy=[[10.5, 20.25, 50.5, 60.0], [1, 2, 3, 4]],
                         confidence=[0.5, 0.8765]),
        tracklet_factory("c1", 3, [4], xyxy=[[0, 1, 100, 51.5]], confidence=[0.25]),
    ]
    path = tmp_path / "c1.txt"
    write_mot(path, tracklets)
    assert path.read_text() == (
        "5,3,0.00,1.00,100.00,50.50,0.250,-1,-1,-1\n"
        "5,7,10.50,20.25,40.00,39.75,0.500,-1,-1,-1\n"
        "7,7,1.00,2.00,2.00,2.00,0.877,-1,-1,-1\n"
    )


def test_write_mot_refuses_several_cameras(tmp_path: Path,
                                           two_tracklets: list[Tracklet]) -> None:
    with pytest.raises(ValueError, match=r"one camera's tracklets, got \['c001', 'c002'\]"):
        write_mot(tmp_path / "mot.txt", two_tracklets)
    assert list(tmp_path.iterdir()) == []


def test_write_aicity_exact(tmp_path: Path, two_tracklets: list[Tracklet]) -> None:
    path = tmp_path / "aicity.txt"
    numbers = number_cameras(["c001", "c002"])
    write_aicity(path, two_tracklets, {("c002", 7): 2, ("c001", 3): 2}, numbers)
    assert path.read_text() == (
        "1 2 6 0 1 100 50 -1 -1\n"  # 50.5 rounds half to even
        "2 2 5 10 20 40 40 -1 -1\n"
        "2 2 7 12 20 40 41 -1 -1\n"
    )


@pytest.mark.parametrize(
    "camera_ids, expected",
    [
        (["c001", "c002"], {"c001": 1, "c002": 2}),
        (["cam12", "cam3"], {"cam12": 12, "cam3": 3}),
        (["north", "south"], {"north": 1, "south": 2}),
        (["c7", "north"], {"c7": 1, "north": 2}),
        (["a1", "b01"], {"a1": 1, "b01": 2}),
        ([], {}),
    ],
    ids=["trailing-digits", "digits-kept", "no-digits", "mixed", "clashing-digits", "empty"],
)
def test_number_cameras(camera_ids: list[str], expected: dict[str, int]) -> None:
    assert number_cameras(camera_ids) == expected


def test_write_json_exact(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"identities": 2, "cameras": {"c001": 1}})
    assert path.read_text() == '{\n  "identities": 2,\n  "cameras": {\n    "c001": 1\n  }\n}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_atomic_write_replaces_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with atomic_write(path) as f:
        f.write("new\n")
        assert path.read_text() == "old\n"  # not visible until the block ends
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_bytes(tmp_path: Path) -> None:
    path = tmp_path / "gallery.png"
    with atomic_write(path, mode="wb") as f:
        f.write(b"\x89PNG\r\n")
    assert path.read_bytes() == b"\x89PNG\r\n"


def test_failure_mid_write_leaves_previous_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(b'{"previous": true}\n')
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(path, {"nodes": list(range(5000)), "broken": object()})  # fails after output
    assert path.read_bytes() == b'{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["graph.json"]


def test_failure_without_previous_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="interrupted"), atomic_write(tmp_path / "a.csv") as f:
        f.write("partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
