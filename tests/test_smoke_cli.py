import pytest
"""A one-epoch run through the real CLI on the fixture data."""

import json
from pathlib import Path

from conftest import TINY_RUN, run_cli


@pytest.mark.e2e
def test_one_epoch_run_writes_results(cifar10_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli("augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}", *TINY_RUN, cwd=tmp_path)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["clean"]["n"] == 100
    assert len(results["corruptions"]["per_corruption"]) == 15
