"""mcvrt: multi-camera vehicle re-identification and tracking.

`mcvrt.run(videos, out, overrides={...})` runs the pipeline (see `help(mcvrt.run)`);
`mcvrt.configure` builds its config. These, the stage types and `evaluate_run` are imported on
first use, so `import mcvrt` loads neither the detector nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run": "mcvrt.api",
    "configure": "mcvrt.api",
    "PipelineConfig": "mcvrt.config",
    "load_config": "mcvrt.config",
    "RunResult": "mcvrt.pipeline",
    "Camera": "mcvrt.types",
    "Frame": "mcvrt.types",
    "Detections": "mcvrt.types",
    "Tracklet": "mcvrt.types",
    "evaluate_run": "mcvrt.evaluation",
    "EvalReport": "mcvrt.evaluation",
    "McvrtError": "mcvrt.errors",
    "ConfigError": "mcvrt.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an exported name's module on first access (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mcvrt' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
