"""Property-based tests of the text inputs a user writes: config YAML, topology YAML, ground-truth
files and must-link / cannot-link lists. Whatever the text, the CLI either works or prints one
`mcvrt: error:` line with exit code 2; it never ends in a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcvrt.cli import main
from mcvrt.config import PipelineConfig, config_to_mapping
from mcvrt.pipeline import run
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect, write_video

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# YAML scalars and small nests of them, as a user's typo or a wrong type would give
scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=12) | st.sampled_from(["1e400", "2001-13-45", "~", ".nan", "-.inf"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3),
                      max_leaves=8)
yaml_text = st.text(max_size=80) | st.sampled_from([
    "a: [1, 2", "{", "- - -", "x: !!python/object:os.system ls", "a: &x [*x]", "\t: 1", "\x00",
    "pairs: 2001-13-45", "input: {stride: !!int x}", "? [a]\n: 1"])


def documents(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """The texts as UTF-8 files, or a few bytes that are not UTF-8 text at all."""
    return text.map(lambda t: t.encode("utf-8")) | st.binary(max_size=40)


def leaf_paths(mapping: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of the leaves of a nested mapping."""
    paths = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            paths += leaf_paths(value, (*prefix, key))
        else:
            paths.append((*prefix, key))
    return paths


DEFAULTS = config_to_mapping(PipelineConfig())
CONFIG_KEYS = leaf_paths(DEFAULTS)


@st.composite
def config_documents(draw: st.DrawFn) -> bytes:
    """The default config with a few leaves replaced by junk (or a key added / a section made
    junk), as YAML; or text that is barely YAML at all."""
    if draw(st.booleans()):
        return draw(documents(yaml_text))
    doc = yaml.safe_load(yaml.safe_dump(DEFAULTS))
    for _ in range(draw(st.integers(1, 3))):
        path = list(draw(st.sampled_from(CONFIG_KEYS)))
        cut = draw(st.integers(1, len(path)))  # replace a leaf or a whole section
        node = doc
        for key in path[: cut - 1]:
            if not isinstance(node.get(key), dict):  # made junk by an earlier replacement
                node[key] = {}
            node = node[key]
        node[path[cut - 1]] = draw(values)
    return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")


def check_cli(capsys: pytest.CaptureFixture, argv: list[str]) -> int:
    """Run the CLI in process: exit code 0, or 2 with exactly one `mcvrt: error:` line."""
    code = main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code in (0, 2), (code, err)
    if code == 2:
        assert len(err) == 1 and err[0].startswith("mcvrt: error: "), err
    return code


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of two tiny synthetic cameras (what eval and rematch read)."""
    folder = tmp_path_factory.mktemp("fuzz")
    videos = [write_video(folder / f"cam{i}.mp4", frames=20) for i in (1, 2)]
    out = folder / "run"
    run(PipelineConfig(), probe_cameras(videos), out, detect=blob_detect,
        embed=ColorHistogramEmbedder())
    return out


def fresh() -> tempfile.TemporaryDirectory:
    """A fresh folder per example (hypothesis runs many examples in one test)."""
    return tempfile.TemporaryDirectory(prefix="mcvrt-fuzz-")


@FUZZ
@given(document=config_documents())
def test_config_yaml(document: bytes, finished_run: Path, capsys, monkeypatch) -> None:
    # a config that loads runs for real, on a 6-frame video with the fake detector
    monkeypatch.setattr("mcvrt.camera.load_models",
                        lambda cfg, detect, embed: (blob_detect, ColorHistogramEmbedder()))
    with fresh() as folder:
        config = Path(folder) / "config.yaml"
        config.write_bytes(document)
        video = write_video(Path(folder) / "cam1.mp4", frames=6)
        check_cli(capsys, ["run", "--videos", str(video), "--config", str(config), "--out",
                           str(Path(folder) / "out"), "--max-frames", "6"])


pair_entries = st.fixed_dictionaries(
    {"cameras": st.lists(st.sampled_from(["cam1", "cam2"]) | values, max_size=3),
     "min_s": values, "max_s": values},
    optional={"one_way": values, "transitions": values, "exit": values,
              "entry": st.fixed_dictionaries({"box": st.lists(values, max_size=5)},
                                             optional={"heading_deg": values,
                                                       "tolerance_deg": values}),
              "bogus": values})
topologies = documents(yaml_text | st.builds(lambda pairs: yaml.safe_dump({"pairs": pairs}),
                                    st.lists(pair_entries, max_size=3))
              | values.map(yaml.safe_dump))


@FUZZ
@given(document=topologies)
def test_topology_yaml(document: bytes, finished_run: Path, capsys) -> None:
    with fresh() as folder:
        topology = Path(folder) / "topology.yaml"
        topology.write_bytes(document)
        check_cli(capsys, ["rematch", str(finished_run), "--out", str(Path(folder) / "out"),
                           "--topology", str(topology)])


numbers = st.integers(-5, 50).map(str) | st.floats().map(str) | st.sampled_from(
    ["1e999", "-0", "0x10", "1_0", "nan", "", "one"])
gt_lines = st.lists(numbers, min_size=8, max_size=10).map(" ".join)
gt_files = (st.lists(gt_lines, max_size=6).map("\n".join) | st.text(max_size=80)).map(
    lambda text: text.encode("utf-8")) | st.binary(max_size=60)


@FUZZ
@given(content=gt_files)
def test_ground_truth_file(content: bytes, finished_run: Path, capsys) -> None:
    with fresh() as folder:
        gt = Path(folder) / "gt.txt"
        gt.write_bytes(content)
        check_cli(capsys, ["eval", "--gt", str(gt), "--run", str(finished_run), "--json",
                           str(Path(folder) / "eval.json")])


sides = (st.builds("{}:{}".format, st.sampled_from(["cam1", "cam2", "cam3", "", "a:b"]),
                   st.integers(-2, 5) | st.text(max_size=3))
         | st.text(max_size=10))
links = st.lists(st.builds("{}={}".format, sides, sides) | st.text(min_size=1, max_size=12),
                 min_size=1, max_size=3).filter(lambda xs: not any(x.startswith("-") for x in xs))


@FUZZ
@given(must=links, cannot=links)
def test_must_and_cannot_link_lists(must: list[str], cannot: list[str], finished_run: Path,
                                    capsys) -> None:
    with fresh() as folder:
        check_cli(capsys, ["rematch", str(finished_run), "--out", str(Path(folder) / "out"),
                           "--must-link", *must, "--cannot-link", *cannot])
