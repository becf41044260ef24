"""Checkpoints and atomic files."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from augmix_bench.checkpoint_io import load_checkpoint, save_checkpoint
from augmix_bench.runtime import restore_rng_state, rng_state
from augmix_bench.errors import UserError
from augmix_bench.files import atomic_directory, atomic_write_text


def test_checkpoint_roundtrip_and_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "last.pt"
    save_checkpoint(path, {"epoch": 3, "weights": torch.arange(5.0)})
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and state["format_version"] == 1
    assert torch.equal(state["weights"], torch.arange(5.0))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary file left


def test_rng_state_restores_every_generator() -> None:
    state = rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_unreadable_checkpoint_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError) as info:
        load_checkpoint(bad)
    assert "is not a readable PyTorch file" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_failed_atomic_write_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic_directory(tmp_path / "folder") as tmp:
            (tmp / "half.npy").write_bytes(b"x")
            raise Boom
    assert not (tmp_path / "folder").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    assert target.read_text() == "old"


def test_atomic_directory_replaces_only_when_complete(tmp_path: Path) -> None:
    final = tmp_path / "data"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with atomic_directory(final) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (final / "old.txt").exists()
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
