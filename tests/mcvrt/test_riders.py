"""Rider merging: a person on a two-wheeler becomes part of it; other persons are dropped."""

import numpy as np
import pytest

from mcvrt.riders import merge_riders, rides
from mcvrt.types import Detections

CAR, PERSON, MOTO, BIKE = 2, 0, 3, 1


def dets(*rows: tuple[float, float, float, float, float, int]) -> Detections:
    """Detections from (x1, y1, x2, y2, confidence, class) rows."""
    a = np.array(rows, np.float64).reshape(-1, 6)
    return Detections(a[:, :4].astype(np.float32), a[:, 4].astype(np.float32),
                      a[:, 5].astype(np.int64))


def as_rows(d: Detections) -> list[list[float]]:
    return np.c_[d.xyxy, d.confidence, d.class_id].round(4).tolist()


def test_rider_on_motorcycle_is_merged_into_one_box_covering_both():
    out = merge_riders(dets((100, 40, 140, 110, 0.8, PERSON), (95, 80, 145, 130, 0.4, MOTO),
                            (300, 50, 380, 110, 0.9, CAR)))
    assert as_rows(out) == [[95, 40, 145, 130, 0.8, MOTO], [300, 50, 380, 110, 0.9, CAR]]


@pytest.mark.parametrize("person", [(250, 40, 280, 150), (215, 50, 245, 165)],
                         ids=["standing-beside", "standing-in-front"])
def test_person_near_a_parked_bike_is_not_merged(person):
    parked = (200, 100, 260, 150, 0.7, BIKE)
    out = merge_riders(dets((*person, 0.9, PERSON), parked))
    assert as_rows(out) == [[200, 100, 260, 150, 0.7, BIKE]]
    assert not rides(np.array([person], np.float32), np.array([parked[:4]], np.float32)).any()


def test_two_riders_on_one_bike_give_one_box():
    out = merge_riders(dets((100, 30, 130, 100, 0.6, PERSON), (115, 35, 145, 105, 0.7, PERSON),
                            (95, 70, 150, 130, 0.3, MOTO)))
    assert as_rows(out) == [[95, 30, 150, 130, 0.7, MOTO]]


def test_a_rider_joins_the_most_confident_two_wheeler_it_rides():
    # the person rides both; the loose low-confidence box overlaps it more
    out = merge_riders(dets((100, 40, 140, 110, 0.5, PERSON), (60, 60, 150, 140, 0.1, MOTO),
                            (95, 80, 145, 130, 0.6, MOTO)))
    assert as_rows(out) == [[60, 60, 150, 140, 0.1, MOTO], [95, 40, 145, 130, 0.6, MOTO]]


def test_without_persons_nothing_changes_and_lone_persons_are_dropped():
    vehicles = dets((95, 80, 145, 130, 0.4, MOTO), (300, 50, 380, 110, 0.9, CAR))
    assert as_rows(merge_riders(vehicles)) == as_rows(vehicles)
    assert len(merge_riders(dets((10, 10, 30, 60, 0.9, PERSON)))) == 0
    assert len(merge_riders(Detections.empty())) == 0
