"""mcvrt: multi-camera vehicle re-identification and tracking."""

__version__ = "0.1.0"
