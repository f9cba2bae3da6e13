"""Dataset readers, the P x K sampler, and image transforms (all images RGB in [0, 1])."""

from reid.data.datasets import (
    LAYOUTS,
    Batch,
    DatasetError,
    ImageCache,
    ReidData,
    Sample,
    detect_layout,
    read_dataset,
)
from reid.data.samplers import PKSampler
from reid.data.transforms import AugmentConfig, augment, darkened_subset, random_low_light

__all__ = [
    "LAYOUTS",
    "AugmentConfig",
    "Batch",
    "DatasetError",
    "ImageCache",
    "PKSampler",
    "ReidData",
    "Sample",
    "augment",
    "darkened_subset",
    "detect_layout",
    "random_low_light",
    "read_dataset",
]
