"""Vehicle re-identification: models (ALSA, SJDL), losses, data, training and evaluation.

Stands on its own (never imports `mcvrt`); the pipeline uses it only through `load_embedder`.
"""

from reid.embedder import (
    COLOR_HISTOGRAM,
    ColorHistogramEmbedder,
    Embedder,
    EmbedderConfig,
    load_embedder,
)
from reid.errors import CheckpointError, ConfigError, ReidError

__all__ = [
    "COLOR_HISTOGRAM",
    "CheckpointError",
    "ColorHistogramEmbedder",
    "ConfigError",
    "Embedder",
    "EmbedderConfig",
    "ReidError",
    "load_embedder",
]
