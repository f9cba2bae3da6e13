"""Two-wheelers with riders: merge each `person` box into the motorcycle / bicycle it rides on.

COCO detectors box a rider as `person` and the machine under them (if at all) as `motorcycle` or
`bicycle`, so neither box covers the vehicle a user tracks. A person rides a two-wheeler box
when all of these hold (image y grows downwards, h = the two-wheeler's box height):

* overlap: at least `MIN_OVERLAP` of the person's box lies inside the two-wheeler's box;
* above it, not beside it: the narrower of the two boxes lies at least `MIN_NESTED` inside the
  other horizontally (someone standing next to a parked bike overlaps only its side);
* on top: the person's vertical centre is above the two-wheeler's;
* not in front: the person's box ends at most `MAX_BELOW`·h below the two-wheeler's bottom
  (someone standing between the camera and a parked bike has their feet below its wheels).

Feet are not required to be off the ground: riders stopped at a light put them down, and in
tight crops the rider's legs reach the crop's (and the two-wheeler box's) bottom edge.

Each person joins the most confident two-wheeler it rides (a loose low-confidence box around
a rider and the scenery beside it must not win over the tight one); the merged detection has the
union box of the two-wheeler and all its riders, the two-wheeler's class and the highest
confidence among them. Persons that ride nothing are dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mcvrt.types import Detections

PERSON, BICYCLE, MOTORCYCLE = 0, 1, 3  # COCO ids
TWO_WHEELERS = (BICYCLE, MOTORCYCLE)
MIN_OVERLAP = 0.3  # share of the person's box inside the two-wheeler's box
MIN_NESTED = 0.8  # horizontal overlap / the narrower box's width
MAX_BELOW = 0.1  # person's bottom at most this many two-wheeler heights below its bottom


def rides(persons: np.ndarray, bikes: np.ndarray) -> np.ndarray:
    """(P, B) bool: person box i (xyxy) rides two-wheeler box j by the rules above."""
    p, b = persons[:, None, :].astype(np.float64), bikes[None, :, :].astype(np.float64)
    person_area = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
    overlap = _intersection(persons, bikes) / np.maximum(person_area, 1e-9)
    across = np.minimum(p[..., 2], b[..., 2]) - np.maximum(p[..., 0], b[..., 0])
    narrower = np.minimum(p[..., 2] - p[..., 0], b[..., 2] - b[..., 0])
    return (
        (overlap >= MIN_OVERLAP)
        & (across >= MIN_NESTED * narrower)
        & (p[..., 1] + p[..., 3] < b[..., 1] + b[..., 3])
        & (p[..., 3] <= b[..., 3] + MAX_BELOW * (b[..., 3] - b[..., 1]))
    )


def merge_riders(dets: Detections) -> Detections:
    """Riders merged into their two-wheelers (union box), other persons dropped; order kept."""
    is_person = dets.class_id == PERSON
    bike_rows = np.flatnonzero(np.isin(dets.class_id, TWO_WHEELERS))
    xyxy, confidence = dets.xyxy.copy(), dets.confidence.copy()
    person_rows = np.flatnonzero(is_person)
    if len(person_rows) and len(bike_rows):
        ok = rides(dets.xyxy[person_rows], dets.xyxy[bike_rows])
        for i in np.flatnonzero(ok.any(axis=1)):
            j = bike_rows[np.argmax(np.where(ok[i], dets.confidence[bike_rows], -1.0))]
            person = person_rows[i]
            xyxy[j, :2] = np.minimum(xyxy[j, :2], dets.xyxy[person, :2])
            xyxy[j, 2:] = np.maximum(xyxy[j, 2:], dets.xyxy[person, 2:])
            confidence[j] = max(confidence[j], dets.confidence[person])
    return replace(dets, xyxy=xyxy, confidence=confidence)[~is_person]


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) intersection areas of two sets of xyxy boxes."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)
