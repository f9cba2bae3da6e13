"""`report.html`: one self-contained page per run folder (inline CSS, images as data URIs, no
script), opened offline from the file system.

It is drawn from the run folder's files (`model.load_view`), so `mcvrt run` and `mcvrt rematch`
write it last, and `mcvrt eval` draws it again with its metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from mcvrt.export import atomic_write
from mcvrt.report import charts
from mcvrt.report.model import RunView, load_view

REPORT = "report.html"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("mcvrt.report", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def render_report(view: RunView) -> str:
    """The report's HTML."""
    return _templates.get_template("report.html.j2").render(
        view=view, timeline=charts.timeline(view), camera_graph=charts.camera_graph(view))


def write_report(run_dir: Path, evaluation: dict[str, Any] | None = None) -> Path:
    """Write ``run_dir/report.html`` atomically from the run folder's files and `evaluation`
    (`EvalReport.to_dict()`), returning its path; `InputError` when `run_dir` is not a run
    folder."""
    html = render_report(load_view(run_dir, evaluation))
    path = run_dir / REPORT
    with atomic_write(path) as f:
        f.write(html)
    return path


__all__ = ["REPORT", "RunView", "load_view", "render_report", "write_report"]
