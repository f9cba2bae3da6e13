"""DeepSORT-style single-camera tracking: `Tracker(cfg).update(detections)` per frame."""

from mcvrt.tracking.tracker import Tracker

__all__ = ["Tracker"]
