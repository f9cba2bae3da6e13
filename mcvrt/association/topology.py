"""Camera topology: which camera pairs a vehicle can pass between, and how long it takes.

A user's ``--topology`` YAML (`load_topology`) lists transition windows per camera pair.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mcvrt.errors import InputError

# (camera, camera) -> (min_s, max_s); a window applies to the pair in either order
Windows = dict[tuple[str, str], tuple[float, float]]


def load_topology(path: str | Path) -> Windows:
    """Read per-camera-pair transition windows from YAML; a window applies in both directions.

    Format::

        pairs:
          - {cameras: [camA, camB], min_s: 5, max_s: 60}

    ``min_s`` may be negative for cameras whose fields of view overlap. Raises `InputError`.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read topology file: {path} ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list) or not pairs or set(data) != {"pairs"}:
        raise InputError(f"{path}: expected a mapping with one key 'pairs': a non-empty list")
    windows: Windows = {}
    for i, entry in enumerate(pairs):
        a, b, window = _parse_pair(entry, f"{path}: pairs[{i}]")
        if (a, b) in windows or (b, a) in windows:
            raise InputError(f"{path}: pairs[{i}]: cameras {a!r} and {b!r} are listed twice")
        windows[(a, b)] = window
    return windows


def _parse_pair(entry: Any, where: str) -> tuple[str, str, tuple[float, float]]:
    """One `pairs` entry as (camera, camera, (min_s, max_s)); raises `InputError`."""
    if not isinstance(entry, dict) or set(entry) != {"cameras", "min_s", "max_s"}:
        raise InputError(f"{where}: expected exactly the keys cameras, min_s, max_s")
    cameras, low, high = entry["cameras"], entry["min_s"], entry["max_s"]
    if not (isinstance(cameras, list) and len(cameras) == 2 and cameras[0] != cameras[1]
            and all(isinstance(c, str) for c in cameras)):
        raise InputError(f"{where}: cameras must be a list of two different camera ids")
    numbers = [v for v in (low, high) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != 2 or not low <= high:
        raise InputError(f"{where}: min_s and max_s must be numbers with min_s <= max_s")
    return cameras[0], cameras[1], (float(low), float(high))
