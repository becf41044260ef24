"""Bad input ends in one line ``augmix-<cmd>: error: ...`` with exit status 2, before anything is
written: wrong types and ranges, typo'd keys, bad paths (config/validate.py, config/preflight.py)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_RUN, run_in_process
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from augmix_bench.config.paths import config_dir, group_options
from augmix_bench.config.validate import SCHEMAS, Rule, config_keys, config_rules, validate_config
from augmix_bench.console import stop_requested
from augmix_bench.errors import UserError

CASES = [
    ("augmix-train", ["trainer.epochs=abc"], "trainer.epochs='abc' is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["trainer.epochs=0"], "trainer.epochs=0 is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["trainer.epochs=-2"], "trainer.epochs=-2 is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["trainer.batch_size=abc"], "trainer.batch_size='abc' is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["trainer.batch_size=0"], "trainer.batch_size=0 is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["trainer.batch_size=-5"], "trainer.batch_size=-5 is invalid; accepted: an integer >= 1"),
    ("augmix-train", ["augmentation.severity=abc"], "augmentation.severity='abc' is invalid; accepted: a number in (0.1, 10]"),
    ("augmix-train", ["eval.limit=abc"], "eval.limit='abc' is invalid; accepted: null or an integer >= 1"),
    ("augmix-train", ["eval.limit=-1"], "eval.limit=-1 is invalid; accepted: null or an integer >= 1"),
    ("augmix-train", ["seed=-1"], "seed=-1 is invalid; accepted: an integer in [0, 9223372036854775807]"),
    ("augmix-train", ["optim.lr=-1"], "optim.lr=-1 is invalid; accepted: a number > 0"),
    ("augmix-train", ["trainer.num_workers=-1"], "trainer.num_workers=-1 is invalid; accepted: an integer >= 0"),
    ("augmix-train", ["trainer.epoch=3"], "unknown key 'trainer.epoch'; did you mean trainer.epochs?"),
    ("augmix-train", ["optim.lrr=0.1"], "unknown key 'optim.lrr'; did you mean optim.lr?"),
    ("augmix-train", ["-m", "trainer.epoch=1,2"], "unknown key 'trainer.epoch'; did you mean trainer.epochs?"),
    ("augmix-eval", [], "checkpoint is required; pass checkpoint=<a checkpoint file, e.g. results/runs/<run>/checkpoints/last.pt>"),
    ("augmix-eval", ["checkpoint=x.pt", "eval.limt=3"], "unknown key 'eval.limt'; did you mean eval.limit?"),
    ("augmix-eval", ["checkpont=x.pt"], "unknown key 'checkpont'; did you mean checkpoint?"),
    ("augmix-eval", ["eval.limit=0", "checkpoint=x.pt"], "eval.limit=0 is invalid; accepted: null or an integer >= 1"),
    ("augmix-train", ["trainer.batch_size=10", "trainer.devices=4"],
     "trainer.batch_size=10 does not split evenly across 4 ranks; accepted: a multiple of trainer.devices (4)"),
    ("augmix-train", ["trainer.precision=fp8"], "trainer.precision='fp8' is invalid; choose from: fp32, bf16, fp16"),
    ("augmix-download", ["parts=[x]"],
     "parts=['x'] is invalid; accepted: a list whose items are each one of clean, corruptions, perturbations, shifts"),
]


@pytest.mark.parametrize(("program", "args", "line"), CASES)
def test_bad_values_are_one_line_before_anything_is_written(
    program: str, args: list[str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process(program, *args)
    assert (result.returncode, result.stderr) == (2, f"{program}: error: {line}\n")
    assert list(tmp_path.iterdir()) == []


def test_paths_that_cannot_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "run").mkdir()
    cases = [
        ("augmix-eval", ["checkpoint=run"], "checkpoint=run is a folder; accepted: a checkpoint file such as <run>/checkpoints/last.pt"),
        ("augmix-eval", ["checkpoint=afile", "output=afile/x.json"], "output=afile/x.json cannot be written: afile is not a folder"),
        ("augmix-train", ["dataset.root=afile"], "dataset.root=afile is a file; accepted: a folder (created when missing)"),
        ("augmix-download", ["dataset.root=afile"], "dataset.root=afile is a file; accepted: a folder (created when missing)"),
        ("augmix-train", ["hydra.run.dir=afile/run"], "hydra.run.dir=afile/run cannot be written: afile is not a folder"),
    ]
    for program, args, line in cases:
        result = run_in_process(program, *args)
        assert (result.returncode, result.stderr) == (2, f"{program}: error: {line}\n"), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "run"]  # no eval.log, no results/
    assert list((tmp_path / "run").iterdir()) == []


def test_start_up_error_leaves_no_run_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hydra makes the run directory before the task; a refused start removes it again."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = run_in_process("augmix-train", "dataset.root=empty", *TINY_RUN)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("augmix-train: error: cifar10 not found in empty/cifar-10-batches-py")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_a_refused_sweep_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every job of a sweep is checked before the first starts: nothing is made."""
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", "-m", "trainer.epochs=0,-1", "hydra.sweep.dir=sweeps/s")
    line = "augmix-train: error: job 0 (trainer.epochs=0): trainer.epochs=0 is invalid; accepted: an integer >= 1\n"
    assert (result.returncode, result.stderr) == (2, line)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["trainer.batch_size=32,0,16"],
         "job 1 (trainer.batch_size=0): trainer.batch_size=0 is invalid; accepted: an integer >= 1"),
        (["model=wrn40_2,allconv", "optim.lr=0.1,-1"],  # the last key varies fastest, as Hydra runs them
         "job 1 (model=wrn40_2, optim.lr=-1): optim.lr=-1 is invalid; accepted: a number > 0"),
        (["seed=range(0,3)", "trainer.precision=fp32,fp8"],
         "job 1 (seed=0, trainer.precision=fp8): trainer.precision='fp8' is invalid; choose from: fp32, bf16, fp16"),
        (["experiment=paper_table1", "model.depth=16"],  # the preset's own sweep (hydra.sweeper.params)
         "job 0 (model=allconv, augmentation=standard): unknown key 'model.depth'; did you mean model.name?"),
        (["optim.lr=interval(0.1,1)"],
         "optim.lr=interval(0.1,1): Hydra's basic sweeper cannot list the jobs of an interval sweep; "
         "accepted: a,b,c, choice(...), range(...), glob(...)"),
    ],
)
def test_a_sweep_is_checked_whole_before_its_first_job(
    args: list[str], line: str, cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value in any job refuses the whole sweep, naming the job by its swept overrides; no job
    trains (the data is there: job 0 would have run before)."""
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", "-m", f"dataset.root={cifar10_root}", *TINY_RUN, *args, "hydra.sweep.dir=s")
    assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {line}\n")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_whose_jobs_all_fail_at_start_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each job fails as it starts (no data), the sweep goes on to the next, then ends in one line
    naming the failed jobs; no job left anything, so the sweep folder goes too."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result = run_in_process("augmix-train", "-m", "dataset.root=a,b", *TINY_RUN, "hydra.sweep.dir=sweeps/s")
    missing = ("augmix-train: error: cifar10 not found in {}/cifar-10-batches-py; run with dataset.download=true, "
               "or point dataset.root (env AUGMIX_DATA) at the folder that holds it")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        missing.format("a"), missing.format("b"),
        "augmix-train: error: 2 of 2 jobs failed: job 0 (dataset.root=a), job 1 (dataset.root=b); "
        "no job left a folder, so the sweep folder is removed",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_refused_command_keeps_an_existing_runs_records(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new run into a folder holding a checkpoint: .hydra/* and train.log stay as they were, plus
    the error line in the log."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.pt").write_bytes(b"old checkpoint")
    (run / ".hydra" / "config.yaml").write_text("old: config\n")
    (run / ".hydra" / "overrides.yaml").write_text("- old=1\n")
    (run / "train.log").write_text("old line\n")
    result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run}", *TINY_RUN)
    line = (
        f"augmix-train: error: {run} already holds a checkpoint; pass resume=true to continue it, "
        "or choose another directory"
    )
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert (run / ".hydra" / "config.yaml").read_text() == "old: config\n"
    assert (run / ".hydra" / "overrides.yaml").read_text() == "- old=1\n"
    assert sorted(p.name for p in (run / ".hydra").iterdir()) == ["config.yaml", "overrides.yaml"]
    log = (run / "train.log").read_text().splitlines()
    assert log[0] == "old line" and len(log) == 2 and log[1].endswith(line)
    assert (run / "checkpoints" / "last.pt").read_bytes() == b"old checkpoint"


def _composed(command: str, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=command, overrides=list(overrides))


@pytest.mark.parametrize("model", [m for m in group_options("model") if m != "custom"])
def test_every_shipped_model_passes_validation(model: str) -> None:
    """Its ``_target_`` names the builder even where a module of the same name exists
    (``augmix_bench.models.densenet``: the function, not the module)."""
    validate_config("train", _composed("train", f"model={model}"))


def _leaf_keys(cfg: DictConfig) -> list[str]:
    return [k for k in config_keys(cfg) if not isinstance(OmegaConf.select(cfg, k), DictConfig)]


def _wrong_type(rule: Rule) -> object:
    return {"int": "abc", "float": "abc", "bool": "abc", "str": [1], "list": "abc", "dict": "abc"}[rule.kind]


def _valid(rule: Rule) -> object:
    """A value ``rule`` accepts (for required ``???`` keys, which have no default)."""
    if rule.choices:
        return rule.choices[0]
    if rule.kind in ("int", "float"):
        return 1 if rule.minimum is None else rule.minimum + 1
    return {"bool": True, "str": "x", "list": [], "dict": {}}[rule.kind]


def _out_of_range(rule: Rule) -> object | None:
    if rule.choices:
        return "no_such_choice"
    if rule.kind == "list" and rule.items is not None:
        inner = _out_of_range(rule.items)
        return None if inner is None else [inner]
    if rule.minimum is not None:
        return rule.minimum - 1 if rule.kind == "int" or not rule.exclusive else rule.minimum
    if rule.maximum is not None:
        return rule.maximum + 1
    return None


@pytest.mark.parametrize("command", list(SCHEMAS))
def test_every_config_key_refuses_a_wrong_type_and_an_out_of_range_value(command: str) -> None:
    """Generated from each command's composed config: every key has a rule; a value of the wrong type
    and one out of range (where a range exists) are refused in one line naming the key and the value."""
    cfg = _composed(command)
    rules = config_rules(command, cfg)
    keys = _leaf_keys(cfg)
    assert [k for k in keys if k not in rules or rules[k].kind == "any"] == []
    required = OmegaConf.missing_keys(cfg)  # e.g. eval's checkpoint: given a value it accepts
    assert required <= set(keys)
    for key in required:
        OmegaConf.update(cfg, key, _valid(rules[key]), merge=False)
    validate_config(command, cfg)  # the defaults pass
    for key in keys:
        rule = rules[key]
        for bad in (_wrong_type(rule), _out_of_range(rule)):
            if bad is None:
                continue
            changed = cfg.copy()
            OmegaConf.update(changed, key, bad, merge=False)
            with pytest.raises(UserError) as info:
                validate_config(command, changed)
            message = str(info.value)
            assert message.startswith(f"{key}=") and "\n" not in message
            assert "is invalid; accepted: " in message or f"is invalid; choose from: {', '.join(rule.choices)}" in message


@pytest.mark.parametrize(("key", "bad"), [("trainer.eval_every", "-1"), ("optim.momentum", "2"), ("model.widen_factor", "x")])
def test_generated_refusals_through_the_command_line(key: str, bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", f"{key}={bad}")
    assert result.returncode == 2 and result.stderr.startswith(f"augmix-train: error: {key}=")
    assert result.stderr.count("\n") == 1 and list(tmp_path.iterdir()) == []


def _start_training(
    cifar10_root: Path, tmp_path: Path, extra: tuple[str, ...] = ("trainer.num_workers=2",)
) -> tuple[subprocess.Popen, list[str], Path]:
    """A 200-epoch run with progress on (stderr is a pipe: lines, none within a minute) and, by
    default, two data-loader workers, in its own process group; returns the process, its arguments
    and run folder."""
    run = tmp_path / "run"
    (tmp_path / "data").symlink_to(cifar10_root)
    args = ["dataset.root=data", *TINY_RUN, "trainer.epochs=200", "eval.suites=[clean]", f"hydra.run.dir={run}"]
    args = [a for a in args if a not in ("trainer.epochs=1", "trainer.progress=false", "trainer.num_workers=0")]
    args.extend(extra)
    executable = Path(sys.executable).with_name("augmix-train")
    process = subprocess.Popen(
        [str(executable), *args], cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    return process, args, run


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    while not path.exists() and process.poll() is None:
        time.sleep(0.1)


def _stop(process: subprocess.Popen, signum: int) -> str:
    """Send ``signum`` as a terminal's Ctrl-C does (SIGINT: the whole group) or as ``kill`` does;
    returns stderr once the process ended, after checking that no data-loader worker outlived it."""
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=300)
    time.sleep(1)
    assert _live_processes_in_group(process.pid) == []  # workers and ranks ended with the main process
    return stderr


def _live_processes_in_group(group: int) -> list[str]:
    """The processes of a process group that still run (zombies, which this machine's init does not
    reap, are ended processes and are not counted)."""
    listing = subprocess.run(["ps", "-o", "stat=,args=", "-g", str(group)], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.strip() and not line.lstrip().startswith("Z")]


@pytest.mark.e2e
@pytest.mark.signals
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_says_how_to_continue(signum: int, cifar10_root: Path, tmp_path: Path) -> None:
    """Ctrl-C / SIGTERM after a finished epoch: one line with the exact command that resumes, no
    traceback, no worker left behind; train.log keeps the epochs and gets the line."""
    process, args, run = _start_training(cifar10_root, tmp_path)
    checkpoint = run / "checkpoints" / "last.pt"
    _wait_for(checkpoint, process)
    stderr = _stop(process, signum)
    state = torch.load(checkpoint, weights_only=False)
    epoch = state["epoch"]
    assert state["config"]["dataset"]["root"] == str(tmp_path / "data")  # recorded absolutely
    command = " ".join(shlex.quote(a) for a in ["augmix-train", *[a for a in args if not a.startswith("hydra.run.dir=")]])
    line = f"augmix-train: error: interrupted after epoch {epoch}; continue with: {command} resume=true hydra.run.dir={run}"
    assert (process.returncode, stderr) == (2, line + "\n")
    assert not (run / "results.json").exists()
    log = (run / "train.log").read_text().splitlines()
    assert log[-1].endswith(line) and sum(f"epoch {n}/200" in entry for entry in log for n in range(1, epoch + 1)) == epoch


@pytest.mark.e2e
@pytest.mark.signals
def test_interrupted_ddp_job_launched_by_the_tool_says_how_to_continue(cifar10_root: Path, tmp_path: Path) -> None:
    """Ctrl-C on a 2-rank job that augmix-train launched itself: the launcher passes the signal on,
    each rank stops at its next batch, and rank 0's checkpoint gives the one line; no rank is left."""
    process, args, run = _start_training(cifar10_root, tmp_path, ("trainer.devices=2", "trainer.num_workers=1"))
    checkpoint = run / "checkpoints" / "last.pt"
    _wait_for(checkpoint, process)
    stderr = _stop(process, signal.SIGINT)
    epoch = torch.load(checkpoint, weights_only=False)["epoch"]
    command = " ".join(shlex.quote(a) for a in ["augmix-train", *[a for a in args if not a.startswith("hydra.run.dir=")]])
    line = f"augmix-train: error: interrupted after epoch {epoch}; continue with: {command} resume=true hydra.run.dir={run}"
    assert (process.returncode, stderr) == (2, line + "\n")


@pytest.mark.e2e
@pytest.mark.signals
def test_interrupted_before_the_first_checkpoint_says_how_to_start_again(cifar10_root: Path, tmp_path: Path) -> None:
    """Stopped while loading or in the first epoch: nothing to resume, so the line gives the command
    that starts the run again, and the half-made run folder is gone."""
    process, args, run = _start_training(cifar10_root, tmp_path)
    log = run / "train.log"
    while process.poll() is None and "data pipeline:" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.05)  # the training task has started (it logs this while it builds the run)
    stderr = _stop(process, signal.SIGTERM)
    command = " ".join(shlex.quote(a) for a in ["augmix-train", *[a for a in args if not a.startswith("hydra.run.dir=")]])
    line = (
        "augmix-train: error: interrupted before the first epoch ended (nothing saved); "
        f"start again with: {command} hydra.run.dir={run}"
    )
    assert (process.returncode, stderr) == (2, line + "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.e2e
@pytest.mark.signals
def test_interrupted_while_pytorch_loads(cifar10_root: Path, tmp_path: Path) -> None:
    """Ctrl-C in the first seconds, while augmix-train still imports PyTorch (after its config passed
    the checks): one line, no traceback, nothing written (the handler is installed before the heavy
    imports). augmix-report reads runs without PyTorch (tests/test_torch_free.py)."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("augmix-train")), f"dataset.root={cifar10_root}", *TINY_RUN],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    maps = Path(f"/proc/{process.pid}/maps")
    while process.poll() is None and "libtorch_cpu" not in maps.read_text():
        time.sleep(0.01)  # PyTorch's library is loaded: its Python modules are being imported now
    stderr = _stop(process, signal.SIGINT)
    assert (process.returncode, stderr) == (2, "augmix-train: error: interrupted\n")
    assert list(tmp_path.iterdir()) == []


BROKEN_IMPORT = """
import importlib.abc, os, signal, sys

SIGNALLED = sys.argv[1] == "signal"


class BrokenStartUp(importlib.abc.MetaPathFinder):
    # The command's import fails as NumPy's did when a Ctrl-C landed in its C start-up: the
    # extension swallows the KeyboardInterrupt, and the import then raises an ImportError.

    def find_spec(self, name, path, target=None):
        if name == "augmix_bench.cli.hydra_app":
            if SIGNALLED:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                except KeyboardInterrupt:
                    pass
            raise ImportError("cannot load module more than once per process")
        return None

sys.meta_path.insert(0, BrokenStartUp())
sys.argv = ["augmix-train"]
from augmix_bench.cli import train_main
train_main()
"""


@pytest.mark.e2e
@pytest.mark.parametrize("signalled", [True, False])
def test_an_import_broken_by_ctrl_c_is_the_interrupt(signalled: bool, tmp_path: Path) -> None:
    """After a Ctrl-C, an import error is the interrupt's doing: one line; without one, the real
    import error is not disguised."""
    mode = "signal" if signalled else "plain"
    result = subprocess.run([sys.executable, "-c", BROKEN_IMPORT, mode], cwd=tmp_path, capture_output=True, text=True)
    if signalled:
        assert (result.returncode, result.stderr) == (2, "augmix-train: error: interrupted\n")
    else:
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == "ImportError: cannot load module more than once per process"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.signals
@pytest.mark.parametrize("existing", [False, True])
def test_interrupted_while_hydra_sets_up_the_run(
    existing: bool, cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that arrives while Hydra writes ``.hydra/*`` (after the run folder exists, before the
    task starts): one line; a new run folder is removed, an existing run's records are put back and
    its log gets the line."""
    import hydra.core.utils

    save_config = hydra.core.utils._save_config

    def save_then_signal(cfg: object, filename: str, output_dir: Path) -> None:
        save_config(cfg, filename, output_dir)
        if filename == "hydra.yaml":
            os.kill(os.getpid(), signal.SIGINT)  # a real signal, between two of Hydra's writes

    run = tmp_path / "run"
    common = [f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]", f"hydra.run.dir={run}"]
    before: dict[str, bytes] = {}
    if existing:
        monkeypatch.chdir(tmp_path)
        assert run_in_process("augmix-train", *common).returncode == 0
        before = {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(hydra.core.utils, "_save_config", save_then_signal)
    result = run_in_process("augmix-train", *common, "resume=true" if existing else "optim.lr=0.2")
    stop_requested.clear()  # the signal's flag: the process would end here
    assert (result.returncode, result.stderr) == (2, "augmix-train: error: interrupted\n")
    if not existing:
        assert list(tmp_path.iterdir()) == []
        return
    after = {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    assert after.keys() == before.keys()
    assert {name: data for name, data in after.items() if name != "train.log"} == {
        name: data for name, data in before.items() if name != "train.log"
    }
    log = after["train.log"].decode()
    assert log.startswith(before["train.log"].decode()) and log.endswith("augmix-train: error: interrupted\n")
    assert log.count("\n") == before["train.log"].decode().count("\n") + 1


LIMITED_WRITES = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv.pop(1)),) * 2)
"""


@pytest.mark.e2e
def test_a_failed_checkpoint_write_keeps_the_last_good_one(tmp_path: Path) -> None:
    """A real write error (the file-size limit, EFBIG, as a full disk gives ENOSPC): the error names
    the checkpoint, the previous checkpoint is intact and no temporary file is left."""
    script = LIMITED_WRITES + """
import torch
from augmix_bench.checkpoint_io import save_checkpoint
try:
    save_checkpoint(sys.argv[1], {"weights": torch.zeros(100_000)})
except OSError as exc:
    print(exc.filename, exc.strerror)
"""
    path = tmp_path / "checkpoints" / "last.pt"
    path.parent.mkdir()
    path.write_bytes(b"the last good checkpoint")
    result = subprocess.run([sys.executable, "-c", script, "100000", str(path)], capture_output=True, text=True, check=True)
    assert result.stdout == f"{path} File too large\n"
    assert path.read_bytes() == b"the last good checkpoint"
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]


@pytest.mark.e2e
def test_training_that_cannot_write_its_checkpoint_ends_in_one_line(cifar10_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    script = LIMITED_WRITES + "from augmix_bench.cli import train_main\nsys.argv[0] = 'augmix-train'\ntrain_main()\n"
    result = subprocess.run(
        [sys.executable, "-c", script, "60000", f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]",
         f"hydra.run.dir={run}"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = f"augmix-train: error: cannot write {run / 'checkpoints' / 'last.pt'}: File too large"
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert list((run / "checkpoints").iterdir()) == []
    assert (run / "train.log").read_text().splitlines()[-1].endswith(line)


@pytest.mark.e2e
def test_training_that_cannot_write_its_results_keeps_the_checkpoint(cifar10_root: Path, tmp_path: Path) -> None:
    """The file-size limit is lowered just before results.json is written (as a disk that fills up
    during the final evaluation): one line naming results.json, the checkpoint of the finished run
    intact, no temporary file left."""
    run = tmp_path / "run"
    script = """
import resource, signal, sys
from augmix_bench.evaluation import results
from augmix_bench.training import loop
def full_disk_then_write(path, payload):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))  # train.log (~0.5 kB) can still take the line
    results.write_results(path, payload)
loop.write_results = full_disk_then_write
from augmix_bench.cli import train_main
sys.argv[0] = 'augmix-train'
train_main()
"""
    result = subprocess.run(
        [sys.executable, "-c", script, f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]", f"hydra.run.dir={run}"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = f"augmix-train: error: cannot write {run / 'results.json'}: File too large"
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=False)["epoch"] == 1
    assert not [p.name for p in run.iterdir() if p.name.startswith(".results")] and not (run / "results.json").exists()
    assert (run / "train.log").read_text().splitlines()[-1].endswith(line)


@pytest.mark.e2e
def test_generating_a_corruption_set_on_a_full_disk_ends_in_one_line_and_resumes(cifar10_root: Path, tmp_path: Path) -> None:
    """Each CIFAR -C file (100 images x 5 severities, 1.5 MB) exceeds a 1 MB file-size limit: one
    line naming the file; without the limit the same command finishes from the chunks already made."""
    output = tmp_path / "c"
    args = [f"dataset.root={cifar10_root}", f"output={output}", "corrupt.corruptions=[gaussian_noise]", "progress=false"]
    script = LIMITED_WRITES + "from augmix_bench.cli import corrupt_main\nsys.argv[0] = 'augmix-corrupt'\ncorrupt_main()\n"
    result = subprocess.run([sys.executable, "-c", script, "1000000", *args], capture_output=True, text=True, cwd=tmp_path)
    line = f"augmix-corrupt: error: cannot write {output / 'gaussian_noise.npy'}: File too large"
    assert (result.returncode, result.stderr) == (2, line + "\n")
    assert not (output / "gaussian_noise.npy").exists()
    assert run_in_process("augmix-corrupt", *args).returncode == 0
    assert np.load(output / "gaussian_noise.npy").shape == (500, 32, 32, 3)
