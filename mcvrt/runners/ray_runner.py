"""`--runner ray`: cameras as tasks on a pool of Ray actors, on this machine or a cluster.

Each actor (`CameraWorker`) holds `ray.cpus_per_camera` CPUs, `ray.gpus_per_camera` of a GPU
and the custom `ray.resources`, loads the detector and ReID models once and tracks camera after
camera; tracklets come back to the driver. Every node reads the videos by the driver's path, so
a cluster needs them on shared storage. Ray is an optional extra: ``pip install "mcvrt[ray]"``.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from mcvrt.appearance import Embed
from mcvrt.camera import CameraResult, CameraTracker, Detect
from mcvrt.config import PipelineConfig, RayConfig
from mcvrt.errors import InputError
from mcvrt.runners.base import Started, limit_threads, run_bounded
from mcvrt.types import Camera

INSTALL_HINT = 'the ray runner needs Ray, which is not installed: pip install "mcvrt[ray]"'
CONNECT_TIMEOUT_S = 5.0


def import_ray() -> Any:
    """The `ray` module; `InputError` saying how to install it when it is missing."""
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


def check_address(address: str | None) -> None:
    """Fail fast on a `ray.address` that is not None, "auto" or a reachable HOST:PORT."""
    if address in (None, "auto"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--ray-address expects auto or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise InputError(f"cannot reach a Ray cluster at {address} "
                         f"({exc.strerror or exc}); start one with `ray start --head`") from None


def worker_options(cfg: RayConfig) -> dict[str, Any]:
    """Ray resource options of one camera worker."""
    return {"num_cpus": cfg.cpus_per_camera, "num_gpus": cfg.gpus_per_camera,
            "resources": dict(cfg.resources)}


def actor_count(cfg: RayConfig, cluster: dict[str, float], cameras: int) -> int:
    """`ray.workers`, else as many workers as the cluster's resources fit; at most one per
    camera. `InputError` when not one fits."""
    need = {"CPU": cfg.cpus_per_camera, "GPU": cfg.gpus_per_camera, **cfg.resources}
    fit = min(math.floor(cluster.get(name, 0.0) / amount + 1e-9)
              for name, amount in need.items() if amount > 0)
    if fit < 1:
        wanted = ", ".join(f"{k} {v:g}" for k, v in need.items() if v > 0)
        raise InputError(f"the Ray cluster has no room for one camera worker (needs {wanted}; "
                         f"has {', '.join(f'{k} {v:g}' for k, v in sorted(cluster.items()))})")
    return min(cfg.workers or fit, cameras)


class CameraWorker:
    """A Ray actor: its library threads held to its CPUs, models loaded on its first camera."""

    def __init__(self, cfg: PipelineConfig, detect: Detect | None, embed: Embed | None) -> None:
        import ray

        limit_threads(max(1, round(cfg.ray.cpus_per_camera)))
        self.tracker = CameraTracker(cfg, detect, embed,
                                     node=ray.get_runtime_context().get_node_id())

    def track(self, camera: Camera) -> CameraResult:
        return self.tracker(camera)


class RayRunner:
    """Tracks cameras on Ray actors; uses the caller's Ray connection if there is one, else
    connects to (or starts) the one `ray.address` names and disconnects at the end."""

    def __init__(self, cfg: PipelineConfig, detect: Detect | None = None,
                 embed: Embed | None = None) -> None:
        self.ray = import_ray()
        check_address(cfg.ray.address)
        self.cfg, self.detect, self.embed = cfg, detect, embed

    def _connect(self) -> bool:
        """Connect unless connected already; True when this call connected."""
        if self.ray.is_initialized():
            return False
        address = self.cfg.ray.address or "local"
        try:
            self.ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot connect to Ray at {address}: {reason}") from None
        return True

    def track(self, cameras: Sequence[Camera], started: Started) -> Iterator[CameraResult]:
        ray = self.ray
        connected_here = self._connect()
        actors = []
        try:
            count = actor_count(self.cfg.ray, ray.cluster_resources(), len(cameras))
            worker = ray.remote(CameraWorker).options(**worker_options(self.cfg.ray))
            actors = [worker.remote(self.cfg, self.detect, self.embed) for _ in range(count)]
            yield from run_bounded(
                cameras, count, lambda camera, slot: actors[slot].track.remote(camera).future(),
                started)
        except ray.exceptions.RayTaskError as exc:
            raise exc.cause from None  # the worker's own error (e.g. an unreadable video)
        finally:
            for actor in actors:
                ray.kill(actor)
            if connected_here:
                ray.shutdown()
