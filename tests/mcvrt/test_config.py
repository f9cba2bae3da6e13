from dataclasses import asdict, replace
from pathlib import Path

import pytest

from mcvrt.config import DEFAULT_CONFIG, PipelineConfig, load_config
from mcvrt.errors import ConfigError


def test_default_yaml_equals_dataclass_defaults():
    assert load_config(DEFAULT_CONFIG) == load_config(None) == PipelineConfig()


@pytest.mark.parametrize(
    "text, message",
    [
        ("tracker:\n  max_agee: 3\n",
         r"unknown key 'tracker\.max_agee' \(did you mean 'max_age'\?\)"),
        ("trackr: {}\n", r"unknown key 'trackr' \(did you mean 'tracker'\?\)"),
        ("tracker:\n  max_age: 0\n", r"tracker\.max_age must be >= 1"),
        ("tracker:\n  max_age: many\n", r"'tracker\.max_age' must be int"),
        ("detector:\n  classes: 2\n", r"'detector\.classes' must be a list"),
        ("appearance:\n  embedder:\n    batchsize: 4\n", r"'appearance\.embedder\.batchsize'"),
        ("- a\n- b\n", r"must be a mapping"),
    ],
    ids=["nested-typo", "section-typo", "range", "type", "list", "deep-typo", "not-a-mapping"],
)
def test_bad_config_is_rejected_with_its_key(tmp_path: Path, text: str, message: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="config not found"):
        load_config(tmp_path / "nope.yaml")


def test_values_are_converted_and_overrides_are_checked(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("detector:\n  classes: [2, 7]\n"
                    "matching:\n  max_transition_s: 30\n  topology: t.yaml\n")
    cfg = load_config(path)
    assert cfg.detector.classes == (2, 7)
    assert cfg.matching.max_transition_s == 30.0
    assert isinstance(cfg.matching.max_transition_s, float)
    assert cfg.matching.topology == Path("t.yaml")
    assert asdict(cfg)["tracker"] == asdict(PipelineConfig().tracker)
    with pytest.raises(ConfigError, match=r"input\.stride"):
        replace(cfg.input, stride=0)


def test_embed_period_defaults_by_embedder() -> None:
    from mcvrt.config import AppearanceConfig
    from reid.embedder import EmbedderConfig

    assert AppearanceConfig().embed_period == 4  # the shipped ALSA model
    histogram = EmbedderConfig(weights="color-histogram")
    assert AppearanceConfig(embedder=histogram).embed_period == 1
    alsa = EmbedderConfig(weights="reid/weights/alsa.pt")
    assert AppearanceConfig(embedder=alsa).embed_period == 4
    assert AppearanceConfig(embedder=EmbedderConfig(weights="auto")).embed_period == 4
    assert AppearanceConfig(embed_every=2).embed_period == 2
