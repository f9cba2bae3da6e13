"""A run folder holds one run, and a run resumes from the cameras it finished.

`mcvrt run --out runs/x` writes everything into the sibling `runs/x.partial/` and swaps it in
for `runs/x` only when the run has finished, so `runs/x` is always one whole run (the new one,
or the previous one when the run fails or is interrupted). Each camera's tracklets are stored
in `cache/<camera>/` of that folder as soon as the camera finishes, under a key of everything
its tracking depends on (`CameraKeys`); `--resume` reuses the entries whose key still fits,
from an interrupted `runs/x.partial/`, else from the finished `runs/x/`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mcvrt.appearance import Embed, weight_files
from mcvrt.camera import CameraResult, Detect
from mcvrt.config import PipelineConfig, config_to_mapping
from mcvrt.errors import InputError
from mcvrt.export import write_json
from mcvrt.tracklets import TRACKLETS_JSON, StoredRun, load_run, save_run
from mcvrt.types import Camera

CACHE = "cache"
CAMERA_JSON = "camera.json"  # per cached camera: its key and the node that tracked it
RUN_MARKERS = ("summary.json", TRACKLETS_JSON)  # a folder with one of these is an mcvrt run


def check_writable(folder: Path) -> None:
    """Create `folder` and prove a file can be written there, before any heavy work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".mcvrt-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to output folder {folder}: {exc.strerror}") from None


class RunFolder:
    """`out` and the in-progress sibling (`work`) the run writes into until `publish`."""

    def __init__(self, out: Path) -> None:
        out = out.resolve()
        self.out = out
        self.work = out.with_name(f"{out.name}.partial")
        self.previous = out.with_name(f"{out.name}.previous")  # the old run during the swap

    def prepare(self, resume: bool) -> None:
        """Make `work` ready: empty, or with `resume` holding only the cache to continue from.

        Refuses an `out` that is not a folder of an earlier run (it will be replaced whole).
        """
        if self.previous.is_dir() and not self.out.exists():
            os.rename(self.previous, self.out)  # a swap was cut between its two renames
        if self.out.exists() and not self._replaceable():
            raise InputError(f"output folder {self.out} exists and holds no mcvrt run (no "
                             f"{' or '.join(RUN_MARKERS)}); the run would replace it: choose "
                             "another --out")
        if self.work.exists() and resume:
            for entry in self.work.iterdir():  # outputs of the interrupted run go, cache stays
                if entry.name != CACHE:
                    _remove(entry)
        elif self.work.exists():
            _remove(self.work)
        if resume and not (self.work / CACHE).exists() and (self.out / CACHE).is_dir():
            # hard links: the finished run keeps its files, the new one shares them unchanged
            shutil.copytree(self.out / CACHE, self.work / CACHE, copy_function=_link_or_copy)
        check_writable(self.work)

    def publish(self) -> None:
        """Swap the finished `work` in for `out`; the previous run is deleted afterwards."""
        if self.out.exists():
            os.rename(self.out, self.previous)
        os.rename(self.work, self.out)
        if self.previous.exists():
            _remove(self.previous)

    def _replaceable(self) -> bool:
        return self.out.is_dir() and (not any(self.out.iterdir()) or any(
            (self.out / marker).is_file() for marker in RUN_MARKERS))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def _digest(reference: str) -> str:
    """sha256 of a weights file or folder (its files' relative names and bytes), else the
    reference itself (a model name such as 'color-histogram')."""
    path = Path(reference)
    if not path.exists():
        return reference
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:  # weights are megabytes: read whole
        digest.update(str(file.relative_to(path) if path.is_dir() else "").encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _name(obj: object) -> str:
    return f"{type(obj).__module__}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


@dataclass(frozen=True)
class CameraKeys:
    """What a camera's tracklets depend on besides its video: the config sections that affect
    tracking, the weights' contents (or the given callables' names) and the mcvrt version."""

    basis: dict[str, Any]

    @classmethod
    def of(cls, cfg: PipelineConfig, detect: Detect | None = None,
           embed: Embed | None = None) -> CameraKeys:
        sections = config_to_mapping(cfg)
        weights = [cfg.detector.weights, *weight_files(cfg.appearance),
                   str(cfg.enhance.alsa_weights), str(cfg.enhance.sjdl_weights)]
        return cls({
            "input": {k: sections["input"][k] for k in ("max_frames", "stride")},
            **{k: sections[k] for k in ("detector", "enhance", "appearance", "tracker")},
            "interpolate_max_gap": cfg.output.interpolate_max_gap,
            "weights": {w: _digest(w) for w in weights},
            "detect": _name(detect) if detect is not None else None,
            "embed": _name(embed) if embed is not None else None,
            "mcvrt": metadata.version("mcvrt"),
        })

    def key(self, camera: Camera) -> str:
        """sha256 over the camera record, its video's size and modification time and `basis`."""
        stat = camera.path.stat()
        record = {"camera": [camera.id, str(camera.path.resolve()), camera.fps,
                             camera.frame_count, list(camera.size_wh), camera.time_offset_s],
                  "video": [stat.st_size, stat.st_mtime_ns], **self.basis}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


class CameraCache:
    """Finished cameras' tracklets in `folder/<camera id>/` (`save_run` files + camera.json),
    each entry written whole (a temporary folder renamed into place)."""

    def __init__(self, folder: Path, cfg: PipelineConfig, keys: dict[str, str]) -> None:
        self.folder, self.cfg, self.keys = folder, cfg, keys  # camera id -> expected key

    def load(self, camera: Camera) -> CameraResult | None:
        """The stored result of `camera` if its key fits, else None."""
        entry = self.folder / camera.id
        try:
            meta = json.loads((entry / CAMERA_JSON).read_text(encoding="utf-8"))
            if meta.get("key") != self.keys[camera.id]:
                return None
            stored = load_run(entry)
        except (OSError, ValueError, InputError):  # absent, half-removed or unreadable
            return None
        return CameraResult(stored.cameras[0], stored.tracklets, stored.frames, stored.seconds,
                            stored.stage_seconds, meta["node"])

    def save(self, camera: Camera, result: CameraResult) -> None:
        """Store `result` as `camera`'s entry, replacing any older one."""
        entry, tmp = self.folder / camera.id, self.folder / f".{camera.id}.tmp"
        if tmp.exists():
            _remove(tmp)
        tmp.mkdir(parents=True)
        save_run(tmp, StoredRun(result.tracklets, [result.camera], self.cfg, result.frames,
                                result.seconds, result.stage_seconds))
        write_json(tmp / CAMERA_JSON, {"key": self.keys[camera.id], "node": result.node})
        if entry.exists():
            _remove(entry)
        os.rename(tmp, entry)

    def prune(self, cameras: Sequence[Camera]) -> None:
        """Remove entries of cameras not in this run, and leftovers of interrupted writes."""
        ids = {c.id for c in cameras}
        with contextlib.suppress(FileNotFoundError):
            for entry in self.folder.iterdir():
                if entry.name not in ids:
                    _remove(entry)
