"""A training run's lifecycle as the user sees it: the line a stop prints matches the run folder,
one run per folder at a time, divergence stops the run, the printed commands run, new keys only
where something reads them (cli/hydra_app.py, folder_lock.py, training/loop.py, config/)."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_RUN, run_cli, run_in_process
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from torch import nn

from augmix_bench.checkpoint_io import load_checkpoint, save_checkpoint
from augmix_bench.config.overrides import override
from augmix_bench.console import stop_requested
from augmix_bench.errors import UserError
from augmix_bench.files import atomic_write_json
from augmix_bench.training import loop
from augmix_bench.training.loss_check import LossCheck, NonFiniteLoss

#: A tiny run's trainer settings for two epochs of 13 batches, and with the tiny model.
TWO_EPOCHS_TRAINER = ("trainer.epochs=2", *TINY_RUN[3:], "eval.suites=[clean]")
TWO_EPOCHS = (*TINY_RUN[:2], *TWO_EPOCHS_TRAINER)
TESTS = Path(__file__).resolve().parent


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _epochs(run: Path) -> list[str]:
    with (run / "train_log.csv").open(newline="") as handle:
        return [row["epoch"] for row in csv.DictReader(handle)]


def _stop_after_first_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C (a real SIGINT to this process) the moment the first checkpoint is on disk, before
    the loop goes on: outside a batch loop, the handler raises at once."""
    save = loop.save_checkpoint

    def save_then_signal(path: Path, state: dict) -> None:
        save(path, state)
        if state["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop, "save_checkpoint", save_then_signal)


# -- item 3: the line after a stop matches what is on disk ------------------------------------------


@pytest.mark.signals
def test_a_stop_right_after_the_first_checkpoint_offers_to_continue_it(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint of epoch 1 is written, then the Ctrl-C lands: the line continues that
    checkpoint (not "nothing saved; start again", which the folder would refuse), and the command it
    prints finishes the run; the temporary checkpoint copy a killed write left is removed then."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    args = [f"dataset.root={cifar10_root}", *TWO_EPOCHS]
    _stop_after_first_checkpoint(monkeypatch)
    result = run_in_process("augmix-train", *args, f"hydra.run.dir={run}")
    stop_requested.clear()  # the signal's flag: the process would end here
    command = shlex.join(["augmix-train", *args, "resume=true", f"hydra.run.dir={run}"])
    line = f"augmix-train: error: interrupted after epoch 1; continue with: {command}"
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    assert (run / "train.log").read_text().splitlines()[-1].endswith(line)

    monkeypatch.undo()  # the real save_checkpoint again
    monkeypatch.chdir(tmp_path)
    stale = run / "checkpoints" / ".last.pt.k1ll3d.tmp"  # what a SIGKILL during a checkpoint write leaves
    stale.write_bytes(b"half a checkpoint")
    program, *printed = shlex.split(command)
    resumed = run_in_process(program, *printed)
    assert resumed.returncode == 0, resumed.stderr
    assert _epochs(run) == ["1", "2"]
    assert json.loads((run / "results.json").read_text())["epochs"] == 2
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt"]
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "checkpoints", "results.json", "train.log", "train_log.csv"]


# -- item 9: the printed resume command runs, whatever the folder is called -------------------------


@pytest.mark.parametrize(
    "name", ["/tmp/a b/ü", "/tmp/it's", "/tmp/a,b", "/tmp/${x}", "C:\\", "a\\'b", "/t/\\${y}", "/tmp/[1]=x", "plain/run_1.x-y"]
)
def test_a_quoted_folder_reads_back_as_itself(name: str) -> None:
    """``hydra.run.dir=<quoted>``: Hydra's lexer and OmegaConf's resolution give the very string."""
    parsed = OverridesParser.create().parse_overrides([override("hydra.run.dir", name)])[0].value()
    assert OmegaConf.create({"dir": parsed}).dir == name
    assert override("hydra.run.dir", "plain/run_1.x-y") == "hydra.run.dir=plain/run_1.x-y"


@pytest.mark.e2e
@pytest.mark.signals
def test_the_printed_resume_command_runs_in_a_shell(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run folder with a space, a non-ASCII letter and a comma: the "continue with" line, run as
    it is by bash, resumes the run to its end."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "a b" / "ü,x"
    _stop_after_first_checkpoint(monkeypatch)
    result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TWO_EPOCHS, f"hydra.run.dir='{run}'")
    stop_requested.clear()
    assert result.returncode == 2 and "; continue with: " in result.stderr, result.stderr
    command = result.stderr.strip().split("; continue with: ", 1)[1]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    resumed = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert _epochs(run) == ["1", "2"]
    assert f"resumed {run} after epoch 1 of 2" in (run / "train.log").read_text()


# -- item 5: one run per folder at a time -------------------------------------------------------------


def test_a_run_into_a_folder_another_run_holds_is_refused(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder's lock is held (here by this test process, as another run holds it): the second
    run is refused in one line naming the folder and the holder's pid, and touches nothing there."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"the first run's checkpoint")
    (run / "train.log").write_text("the first run's log\n")
    with open(run / ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write(f"{os.getpid()}\n")
        holder.flush()
        before = _files(run)
        for extra in ([], ["resume=true"]):
            result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, *extra, f"hydra.run.dir={run}")
            line = f"augmix-train: error: {run} is in use by another run (pid {os.getpid()}); wait until it ends or choose another hydra.run.dir"
            assert (result.returncode, result.stderr) == (2, line + "\n")
            assert _files(run) == before


@pytest.mark.e2e
@pytest.mark.signals
def test_the_lock_of_a_killed_run_does_not_block(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process holding the folder is SIGKILLed: its lock file stays, and the next run starts,
    finishes and removes it."""
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom augmix_bench.folder_lock import folder_locked\n"
         "with folder_locked(sys.argv[1], 'hydra.run.dir'):\n    print('held', flush=True)\n    sys.stdin.read()\n", str(run)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "held\n"
    monkeypatch.chdir(tmp_path)
    busy = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, f"hydra.run.dir={run}")
    assert busy.stderr == f"augmix-train: error: {run} is in use by another run (pid {holder.pid}); wait until it ends or choose another hydra.run.dir\n"
    holder.kill()
    holder.wait()
    assert (run / ".lock").read_text() == f"{holder.pid}\n"  # left behind
    result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "checkpoints", "results.json", "train.log", "train_log.csv"]


# -- item 6: divergence stops the run ---------------------------------------------------------------


class NanAfter(nn.Module):
    """A small CNN whose training forward passes return NaN logits from the ``nan_from``-th on (on
    rank ``rank`` of a DDP job only, when given): a run that diverges at a known batch."""

    def __init__(self, num_classes: int, nan_from: int, rank: int | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))
        self.nan_from = nan_from
        self.rank = rank
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        if not self.training:
            return logits
        self.calls += 1
        here = self.rank is None or torch.distributed.get_rank() == self.rank
        return logits * float("nan") if here and self.calls >= self.nan_from else logits


def test_a_run_stops_at_its_first_non_finite_loss(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch 4 of epoch 2 (the 17th of 13 + 13) gives a NaN loss: one line naming it, exit 2, the
    checkpoint of epoch 1 kept as it was written, no results.json."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    result = run_in_process(
        "augmix-train", f"dataset.root={cifar10_root}", *TWO_EPOCHS_TRAINER, "augmentation=standard", "model=custom",
        "model._target_=test_run_lifecycle.NanAfter", "+model.nan_from=17", f"hydra.run.dir={run}",
    )
    line = (
        "augmix-train: error: training diverged: the loss is nan at epoch 2, batch 4 of 13 (optim.lr=0.1); "
        f"the checkpoint of epoch 1 is kept in {run / 'checkpoints' / 'last.pt'}"
    )
    assert (result.returncode, result.stderr) == (2, line + "\n")
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 1 and all(torch.isfinite(t).all() for t in state["model"].values())
    assert _epochs(run) == ["1"]
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "checkpoints", "train.log", "train_log.csv"]
    assert (run / "train.log").read_text().splitlines()[-1].endswith(line)


def test_a_huge_learning_rate_stops_in_the_first_epoch(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """optim.lr=1e8 (the issue's case): stopped in epoch 1 with nothing saved, the folder gone."""
    monkeypatch.chdir(tmp_path)
    result = run_in_process(
        "augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "optim.lr=1e8", f"hydra.run.dir={tmp_path / 'run'}"
    )
    assert result.returncode == 2
    assert re.fullmatch(
        r"augmix-train: error: training diverged: the loss is (nan|inf) at epoch 1, batch \d+ of 13 "
        r"\(optim\.lr=1e\+08\); nothing was saved\n",
        result.stderr,
    ), result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_ranks_agree_on_a_divergence_one_of_them_meets(cifar10_root: Path, tmp_path: Path) -> None:
    """Only rank 1's loss turns NaN (its 4th batch): both ranks stop there, none waits for the
    other; the line is rank 0's."""
    run = tmp_path / "run"
    result = run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN[2:], "trainer.devices=2", "eval.suites=[clean]",
        "augmentation=standard", "model=custom", "model._target_=test_run_lifecycle.NanAfter", "+model.nan_from=4",
        "+model.rank=1", f"hydra.run.dir={run}",
        cwd=tmp_path, env={"PYTHONPATH": f"{TESTS}:{os.environ.get('PYTHONPATH', '')}"}, check=False,
    )
    line = "augmix-train: error: training diverged: the loss is nan at epoch 1, batch 4 of 13 (optim.lr=0.1); nothing was saved"
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert not run.exists()


def test_the_loss_check_names_the_first_non_finite_batch_the_last_one_included() -> None:
    """Checked one batch late, and at the epoch's end for its last batch; finite losses pass."""
    check = LossCheck(torch.device("cpu"), epoch=3, batches=4)
    for batch, value in enumerate([2.3, 1.9, float("inf")], start=1):
        check.add(torch.tensor(value, requires_grad=True), batch)  # batch 3's value is looked at with batch 4
    with pytest.raises(NonFiniteLoss) as stop:
        check.add(torch.tensor(float("nan"), requires_grad=True), 4)
    assert (stop.value.epoch, stop.value.batch, stop.value.batches, stop.value.value) == (3, 3, 4, float("inf"))
    last = LossCheck(torch.device("cpu"), epoch=1, batches=2)
    last.add(torch.tensor(0.5), 1)
    last.add(torch.tensor(float("nan")), 2)
    with pytest.raises(NonFiniteLoss, match="^the loss is nan at epoch 1, batch 2 of 2$"):
        last.finish()


def test_results_are_strict_json(tmp_path: Path) -> None:
    """A NaN never reaches a JSON file: one line naming the entry, nothing written."""
    path = tmp_path / "results.json"
    with pytest.raises(UserError) as refused:
        atomic_write_json(path, {"clean": {"error": 4.5, "per_severity": [1.0, float("nan")]}})
    assert str(refused.value) == f"cannot write {path}: clean.per_severity.1 (nan) is not a finite number (JSON has no NaN or infinity)"
    assert list(tmp_path.iterdir()) == []


# -- item 10: hints and values that mislead ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["+trainer.epoch=3"],
         "unknown key 'trainer.epoch'; did you mean trainer.epochs? (trainer has a fixed set of keys: nothing would read a new one)"),
        (["++optim.lrr=1"],
         "unknown key 'optim.lrr'; did you mean optim.lr? (optim has a fixed set of keys: nothing would read a new one)"),
        (["+eval.limt=3"],
         "unknown key 'eval.limt'; did you mean eval.limit? (eval has a fixed set of keys: nothing would read a new one)"),
        (["+sed=3"], "unknown key 'sed'; did you mean seed? (the config has a fixed set of keys: nothing would read a new one)"),
        (["model=custom", "model._target_=torchvision.models.squeezenet1_1", "model.dropout=0.2"],
         "unknown key 'model.dropout'; a new argument of model._target_ is added with +model.dropout=..."),
        (["model.dropuot=0.2"], "unknown key 'model.dropuot'; did you mean model.dropout?"),
        (["augmentation.sevrity=2"], "unknown key 'augmentation.sevrity'; did you mean augmentation.severity?"),
        (["hydra.run.dir="], "hydra.run.dir= is empty; accepted: a folder path (e.g. hydra.run.dir=results/runs/my_run)"),
        (["hydra.run.dir=''"], "hydra.run.dir= is empty; accepted: a folder path (e.g. hydra.run.dir=results/runs/my_run)"),
        (["-m", "hydra.sweep.dir="], "hydra.sweep.dir= is empty; accepted: a folder path (e.g. hydra.sweep.dir=results/runs/my_run)"),
    ],
)
def test_new_keys_only_where_something_reads_them(
    args: list[str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", *args)
    assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {line}\n")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_data_variable_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AUGMIX_DATA= (set, empty): the data root is ./data, as when it is unset (not "" or /augmix-demo)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUGMIX_DATA", "")
    for args, root in ((["--cfg", "job", "--resolve"], "./data"), (["experiment=demo", "--cfg", "job", "--resolve"], "./data/augmix-demo")):
        result = run_in_process("augmix-train", *args)
        assert result.returncode == 0, result.stderr
        assert OmegaConf.create(result.stdout).dataset.root == root


def _newer_checkpoint(path: Path) -> None:
    save_checkpoint(path, {"epoch": 1})
    state = torch.load(path, weights_only=False)
    torch.save({**state, "format_version": 2}, path)


def test_a_checkpoint_of_a_newer_format_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """format_version 2 (a later augmix-bench): augmix-eval and resume=true refuse it in one line,
    resume before any data is read (the data root is empty), the run folder untouched."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    checkpoint = run / "checkpoints" / "last.pt"
    checkpoint.parent.mkdir(parents=True)
    _newer_checkpoint(checkpoint)
    (run / "train.log").write_text("the run's log\n")
    line = (
        f"checkpoint {checkpoint} has format_version 2, written by a newer augmix-bench; this one (0.1.0) "
        "reads format_version 1: upgrade augmix-bench to use it"
    )
    with pytest.raises(UserError, match=f"^{re.escape(line)}$"):
        load_checkpoint(checkpoint)
    evaluated = run_in_process("augmix-eval", f"checkpoint={checkpoint}")
    assert (evaluated.returncode, evaluated.stderr) == (2, f"augmix-eval: error: {line}\n")
    before = _files(run)
    (tmp_path / "empty").mkdir()
    resumed = run_in_process("augmix-train", "dataset.root=empty", *TINY_RUN, "resume=true", f"hydra.run.dir={run}")
    assert resumed.returncode == 2 and resumed.stderr == f"augmix-train: error: {line}\n"
    after = _files(run)
    log = after.pop("train.log").decode().splitlines()
    assert log[0] == "the run's log" and len(log) == 2 and log[1].endswith(f"augmix-train: error: {line}")
    assert after == {name: data for name, data in before.items() if name != "train.log"}
