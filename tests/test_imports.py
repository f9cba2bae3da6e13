"""The data flow stays one-way: each foreign library is imported in one place only."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    """Top-level package names imported anywhere in `path` (including lazy imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> dict[str, set[str]]:
    return {
        p.relative_to(ROOT).as_posix(): imports_of(p)
        for p in sorted((ROOT / package).rglob("*.py"))
    }


def importers(package: str, library: str) -> set[str]:
    return {m for m, names in modules(package).items() if library in names}


@pytest.mark.parametrize(
    "library, allowed",
    [
        ("ultralytics", {"mcvrt/detection.py"}),
        ("networkx", {"mcvrt/association/__init__.py", "mcvrt/association/graph.py"}),
        ("torch", set()),
        ("torchvision", set()),
        ("filterpy", {"mcvrt/tracking/kalman.py"}),
        ("lap", {"mcvrt/tracking/association.py"}),
        ("motmetrics", {"mcvrt/evaluation.py"}),
        ("jinja2", {"mcvrt/report/__init__.py"}),
        ("matplotlib", {"mcvrt/report/charts.py"}),
        ("ray", {"mcvrt/runners/ray_runner.py"}),
    ],
)
def test_library_is_imported_in_one_place(library: str, allowed: set[str]):
    assert importers("mcvrt", library) <= allowed


def test_mcvrt_uses_reid_only_through_its_boundary_modules():
    allowed = {"mcvrt/appearance.py", "mcvrt/config.py", "mcvrt/errors.py", "mcvrt/cli.py",
               "mcvrt/enhance.py"}  # learned detector pre-processors via reid.enhancers, lazily
    # the scenario builder shares the image degradations (reid.degrade) the ReID training uses
    found = {m for m in importers("mcvrt", "reid") if not m.startswith("mcvrt/scenario/")}
    assert found <= allowed


def test_reid_never_imports_mcvrt_or_the_detector():
    assert importers("reid", "mcvrt") == set()
    assert importers("reid", "ultralytics") == set()


def test_no_stage_imports_the_pipeline_or_cli():
    for module in importers("mcvrt", "mcvrt"):
        if module in {"mcvrt/cli.py", "mcvrt/__main__.py"}:
            continue
        source = (ROOT / module).read_text()
        assert "mcvrt.cli" not in source, module
        if module not in {"mcvrt/pipeline.py", "mcvrt/api.py"}:  # api: the Python entry point
            assert "mcvrt.pipeline" not in source, module
