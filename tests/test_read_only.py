"""Folders that cannot be written (a read-only mount, an immutable folder, missing permissions):
one line naming the path and the OS reason, exit 2, before any work, and nothing written.

A normal user gets permission bits (0o555); root passes those, so for root the folder is made
immutable (``chattr +i``), which refuses every write, root's included, as a read-only mount does.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import TINY_RUN, run_in_process

ROOT = os.geteuid() == 0


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], str]]:
    """Make a folder unwritable for this process; returns the reason the OS will give."""
    made: list[Path] = []

    def make(folder: Path) -> str:
        if ROOT:
            subprocess.run(["chattr", "+i", str(folder)], check=True)
        else:
            folder.chmod(0o555)
        made.append(folder)
        return os.strerror(errno.EPERM if ROOT else errno.EACCES)

    yield make
    for folder in reversed(made):
        if ROOT:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.e2e
def test_default_run_and_sweep_folders_in_a_read_only_current_folder(
    read_only: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    reason = read_only(here)
    monkeypatch.chdir(here)
    result = run_in_process("augmix-train")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    pattern = rf"augmix-train: error: hydra\.run\.dir={re.escape(str(here))}/results/runs/cifar10_wrn40_2_augmix/[0-9_-]+ "
    assert re.fullmatch(pattern + re.escape(f"cannot be written: {here}: {reason}\n"), result.stderr), result.stderr
    result = run_in_process("augmix-train", "-m", "seed=1,2")
    pattern = rf"augmix-train: error: hydra\.sweep\.dir={re.escape(str(here))}/results/sweeps/[0-9_-]+ "
    assert result.returncode == 2
    assert re.fullmatch(pattern + re.escape(f"cannot be written: {here}: {reason}\n"), result.stderr), result.stderr
    assert _tree(here) == []


@pytest.mark.e2e
def test_a_read_only_run_folder_is_refused_before_training(
    read_only: Callable[[Path], str], cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    run = runs / "old"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"a checkpoint")
    (run / "train.log").write_text("old line\n")
    reason = read_only(run)
    read_only(runs)
    before = _tree(run)
    cases = [
        (["resume=true", f"hydra.run.dir={run}"], f"hydra.run.dir={run} cannot be written: {run}: {reason}"),
        ([f"hydra.run.dir={runs}/new"], f"hydra.run.dir={runs}/new cannot be written: {runs}: {reason}"),
    ]
    for args, line in cases:
        result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, *args)
        assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {line}\n")
    assert _tree(run) == before and (run / "train.log").read_text() == "old line\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


@pytest.mark.e2e
def test_evaluation_output_in_a_read_only_folder_is_refused_before_evaluating(
    read_only: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint is not even read (it is not a valid one): the output is checked first."""
    monkeypatch.chdir(tmp_path)
    checkpoints = tmp_path / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.pt").write_bytes(b"not read")
    reason = read_only(checkpoints)
    result = run_in_process("augmix-eval", f"checkpoint={checkpoints / 'last.pt'}")
    output = checkpoints / "eval_results.json"
    assert (result.returncode, result.stderr) == (
        2, f"augmix-eval: error: output={output} cannot be written: {checkpoints}: {reason}\n"
    )
    assert _tree(tmp_path) == ["run", "run/checkpoints", "run/checkpoints/last.pt"]


@pytest.mark.e2e
def test_download_and_corrupt_into_a_read_only_folder(
    read_only: Callable[[Path], str], cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    reason = read_only(shelf)
    result = run_in_process("augmix-download", f"dataset.root={shelf}/data")
    assert (result.returncode, result.stderr) == (2, f"augmix-download: error: cannot write {shelf}/data: {reason}\n")
    result = run_in_process(
        "augmix-corrupt", f"dataset.root={cifar10_root}", f"output={shelf}/c", "corrupt.corruptions=[gaussian_noise]"
    )
    assert (result.returncode, result.stderr) == (
        2, f"augmix-corrupt: error: output={shelf}/c cannot be written: {shelf}: {reason}\n"
    )
    assert _tree(tmp_path) == ["shelf"]
