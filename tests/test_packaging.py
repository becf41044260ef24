import pytest
"""A non-editable install ships the Hydra configs and the paper's numbers inside the package."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_wheel_contains_every_config_and_finds_them(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("augmix_bench-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"augmix_bench/configs/{p.relative_to(REPO / 'configs')}" for p in (REPO / "configs").rglob("*.yaml")}
    assert expected and expected <= names
    paper = {f"augmix_bench/paper/{p.name}" for p in (REPO / "results" / "paper").glob("*.csv")}
    assert paper and paper <= names  # augmix-report's paper numbers
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    found = subprocess.run(
        [sys.executable, "-c", "from augmix_bench.config.paths import config_dir; print(config_dir())"],
        env={"PYTHONPATH": str(target)}, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(found) == target / "augmix_bench" / "configs"
    found = subprocess.run(
        [sys.executable, "-c", "from augmix_bench.report.paper import paper_dir; print(paper_dir())"],
        env={"PYTHONPATH": str(target)}, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(found) == target / "augmix_bench" / "paper"
