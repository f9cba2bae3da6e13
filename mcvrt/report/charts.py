"""The report's two charts, drawn with matplotlib and returned as PNG data URIs: the timeline
(one row per camera, each multi-camera identity a coloured line joining its sightings) and the
camera graph (vehicles and travel-time windows per ordered camera pair)."""

from __future__ import annotations

import base64
import io
import math

from matplotlib.figure import Figure  # no pyplot: no global figure state or GUI backend

from mcvrt.report.model import RunView

SINGLE = "#b8bec6"  # sightings of identities seen by one camera only
DPI = 100


def _data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def timeline(view: RunView) -> str:
    """Sightings as bars on their camera's row; a multi-camera identity's bars in its colour,
    joined in time order and labelled with its global id."""
    rows = {cam: i for i, cam in enumerate(view.cameras)}
    fig = Figure(figsize=(12, 1.0 + 0.55 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    for identity in reversed(view.identities):  # multi-camera ones drawn last, on top
        seen = identity.sightings
        multi = len(identity.views) > 1
        color = identity.color if multi else SINGLE
        for s in seen:
            ax.plot([s.start_s, max(s.end_s, s.start_s + 0.05)], [rows[s.camera]] * 2,
                    color=color, linewidth=7 if multi else 4, solid_capstyle="butt")
        if multi:
            ax.plot([p for s in seen for p in (s.start_s, s.end_s)],
                    [rows[s.camera] for s in seen for _ in (0, 1)], color=color, linewidth=1.2)
            first = seen[0]
            ax.annotate(str(identity.global_id), (first.start_s, rows[first.camera]),
                        xytext=(0, 6), textcoords="offset points", fontsize=7, color="#333")
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", color="#e5e7eb")
    ax.spines[["top", "right", "left"]].set_visible(False)
    return _data_uri(fig)


def camera_graph(view: RunView) -> str:
    """Cameras on a circle; an arrow per ordered pair, labelled with the vehicles that went that
    way and the travel-time window the matching used."""
    n = len(view.cameras)
    angle = {cam: math.pi / 2 - 2 * math.pi * i / n for i, cam in enumerate(view.cameras)}
    xy = {cam: (math.cos(a), math.sin(a)) if n > 1 else (0.0, 0.0) for cam, a in angle.items()}
    tracklets = view.summary.get("tracklets_per_camera", {})
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    width = max((link.vehicles for link in view.links), default=1) or 1
    for link in view.links:
        (x1, y1), (x2, y2) = xy[link.first], xy[link.second]
        ax.annotate("", (x2, y2), (x1, y1), arrowprops={
            "arrowstyle": "-|>", "mutation_scale": 16, "shrinkA": 28, "shrinkB": 28,
            "connectionstyle": "arc3,rad=0.18", "color": "#2563eb" if link.vehicles else "#9ca3af",
            "linewidth": 1 + 3 * link.vehicles / width})
        label = f"{link.vehicles} vehicle{'s' if link.vehicles != 1 else ''}"
        if link.window_s is not None:
            label += f"\n{link.window_s[0]:g} to {link.window_s[1]:g} s"
        # beside the arc's middle, on the side it bends to
        mx, my = (x1 + x2) / 2 + 0.2 * (y2 - y1) / 2, (y1 + y2) / 2 - 0.2 * (x2 - x1) / 2
        ax.text(mx, my, label, fontsize=8, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})
    for cam, (x, y) in xy.items():
        ax.text(x, y, f"{cam}\n{tracklets.get(cam, 0)} tracklets", ha="center", va="center",
                fontsize=9, bbox={"boxstyle": "round,pad=0.5", "fc": "#eef2ff", "ec": "#6366f1"})
    xs, ys = [x for x, _ in xy.values()], [y for _, y in xy.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.3, max(ys) + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return _data_uri(fig)
