"""Small promises: rounded results, presets that compose, help that lists the choices, no stray
log files."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_in_process
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from augmix_bench.config.paths import config_dir
from augmix_bench.evaluation.results import rounded


def composed(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="train", overrides=list(overrides)), resolve=True)


def test_results_floats_have_six_significant_digits() -> None:
    assert rounded({"a": 11.234567891, "b": [0.000123456789, 2], "c": {"d": 98765432.1, "e": None}}) == {
        "a": 11.2346, "b": [0.000123457, 2], "c": {"d": 98765400.0, "e": None},
    }


def test_the_demo_composes_with_another_model() -> None:
    cfg = composed("experiment=demo", "model=allconv")
    assert cfg["model"] == {"name": "allconv", "_target_": "augmix_bench.models.allconv"}
    assert cfg["dataset"]["name"] == "synthetic" and cfg["trainer"]["epochs"] == 3


def test_eval_help_lists_the_model_and_dataset_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-eval", "--help")
    assert result.returncode == 0
    assert "model: allconv, custom, densenet, densenet_bc, resnet50, resnext29, wrn40_2" in result.stdout
    assert "dataset: cifar10, cifar100, image_folder, imagenet, synthetic" in result.stdout


def test_download_leaves_no_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-download", "dataset=imagenet", "parts=[clean]", f"dataset.root={tmp_path / 'd'}")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot be downloaded automatically (licence)" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("augment", "cli", "commands", "config", "corrupt", "data", "distributed", "evaluation",
                   "models", "report", "training")


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` (``augmix_bench.a.b`` or ``augmix_bench.a.b.attribute``) names a module or
    an attribute of one."""
    import importlib
    import importlib.util

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            target = importlib.import_module(module)
            for name in parts[cut:]:
                if not hasattr(target, name):
                    return False
                target = getattr(target, name)
            return True
    return False


def test_the_docs_name_only_modules_that_exist() -> None:
    import re

    texts = {path.name: path.read_text(encoding="utf-8") for path in [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]}
    folders = "|".join(PACKAGE_FOLDERS)
    missing = []
    for name, text in texts.items():
        for dotted in sorted(set(re.findall(r"\baugmix_bench(?:\.[A-Za-z_][A-Za-z0-9_]*)+", text))):
            if not _resolves(dotted.rstrip(".")):
                missing.append(f"{name}: {dotted}")
        for path in sorted(set(re.findall(rf"(?<![\w/])((?:{folders})/[a-z_]+\.py)", text))):
            if not (REPOSITORY / "src" / "augmix_bench" / path).is_file():
                missing.append(f"{name}: {path}")
    assert missing == []
