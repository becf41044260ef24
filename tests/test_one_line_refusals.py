"""Faults that used to end in a traceback end in one line ``augmix-<cmd>: error: ...`` and exit
status 2: seeds past torch's sampler range, Hydra's grammar and mode-flag errors, missing extras
(named with the install command that works from a checkout), a report output that is a file or
cannot be written, and a full disk (the line names the file)."""

from __future__ import annotations

import contextlib
import json
import re
import resource
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import TINY_RUN, run_in_process

from augmix_bench.commands.report import main as report_main

ROOT_HINT = "install it in the augmix-bench checkout: "


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail in this process as on a full disk (``RLIMIT_FSIZE``; the
    SIGXFSZ that would kill the process is ignored, so the write returns an error instead)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


# -- seeds -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("program", "seed"), [
    ("augmix-train", 2**64 - 1),  # accepted before: training then overflowed torch's sampler seed (seed + epoch)
    ("augmix-train", 2**64),
    ("augmix-corrupt", 2**63),
])
def test_seeds_past_the_samplers_range_are_one_line(
    program: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process(program, f"seed={seed}")
    assert (result.returncode, result.stderr) == (
        2, f"{program}: error: seed={seed} is invalid; accepted: an integer in [0, 9223372036854775807]\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_largest_seed_trains_past_the_first_epoch(cifar10_root: Path, tmp_path: Path) -> None:
    """The sampler is seeded with seed + epoch: the largest accepted seed still trains epoch 2."""
    args = [a for a in TINY_RUN if not a.startswith("trainer.epochs=")]
    run = tmp_path / "run"
    result = run_in_process(
        "augmix-train", f"dataset.root={cifar10_root}", *args, "trainer.epochs=2", "eval.suites=[clean]",
        f"seed={2**63 - 1}", f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((run / "results.json").read_text())
    assert (results["seed"], results["epochs"]) == (2**63 - 1, 2)


# -- Hydra's command line ------------------------------------------------------------------------

@pytest.mark.parametrize(("program", "args", "line"), [
    ("augmix-train", ["trainer.epochs=[1"],
     "cannot read the override 'trainer.epochs=[1': no viable alternative at input '[1'; accepted: Hydra's "
     "override grammar (https://hydra.cc/docs/1.3/advanced/override_grammar/basic/)"),
    ("augmix-train", ["dataset.root=/tmp/ü"],
     "cannot read the override 'dataset.root=/tmp/ü': Hydra's override grammar does not accept 'ü' there; "
     "quote the value: \"dataset.root='/tmp/ü'\""),
    ("augmix-eval", ["checkpoint=x.pt", "dataset.root=/tmp/ü"],  # the user's override, not the ++ one made of it
     "cannot read the override 'dataset.root=/tmp/ü': Hydra's override grammar does not accept 'ü' there; "
     "quote the value: \"dataset.root='/tmp/ü'\""),
    ("augmix-train", ["-m", "--cfg", "job"],
     "--cfg and -m cannot be combined; accepted: at most one of -m/--multirun, --cfg, --info, --shell-completion, "
     "--run (to see the config of a sweep's job, pass that job's values with --cfg job and without -m)"),
    ("augmix-corrupt", ["--cfg", "job", "--multirun"],
     "--cfg and -m cannot be combined; accepted: at most one of -m/--multirun, --cfg, --info, --shell-completion, "
     "--run (to see the config of a sweep's job, pass that job's values with --cfg job and without -m)"),
])
def test_what_hydra_would_refuse_with_a_traceback_is_one_line(
    program: str, args: list[str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process(program, *args)
    assert (result.returncode, result.stderr) == (2, f"{program}: error: {line}\n")
    assert list(tmp_path.iterdir()) == []


def test_a_bare_path_is_told_to_name_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = tmp_path / "last.pt"
    checkpoint.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-eval", str(checkpoint))
    assert (result.returncode, result.stderr) == (2, (
        f"augmix-eval: error: cannot read the override '{checkpoint}': a path, not key=value; accepted: the path "
        f"as the value of its key, e.g. checkpoint={checkpoint} (augmix-eval) or hydra.run.dir={checkpoint}\n"
    ))
    assert sorted(tmp_path.iterdir()) == [checkpoint]


def test_the_quoted_form_the_refusal_suggests_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "données ü"
    result = run_in_process("augmix-train", f"dataset.root='{folder}'", "--cfg", "job")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["dataset"]["root"] == str(folder)  # (YAML folds a long path)
    info = run_in_process("augmix-train", "--info", "config")  # --info's topic is no override
    assert info.returncode == 0 and "Config search path" in info.stdout, info.stderr


# -- missing extras ------------------------------------------------------------------------------

def test_augmix_corrupt_without_its_extra_names_the_checkout_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "cv2", None)  # what an environment without the extra sees: the import fails
    result = run_in_process("augmix-corrupt", f"dataset.root={tmp_path}")
    assert (result.returncode, result.stderr) == (
        2, 'augmix-corrupt: error: augmix-corrupt needs the [corrupt] extra (missing: cv2); '
           f'{ROOT_HINT}pip install -e ".[corrupt]"\n'
    )
    assert list(tmp_path.iterdir()) == []


def test_the_slurm_launcher_without_its_extra_names_the_checkout_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "hydra_plugins.hydra_submitit_launcher", None)
    result = run_in_process("augmix-train", "-m", "hydra/launcher=slurm", "seed=1,2")
    assert (result.returncode, result.stderr) == (
        2, "augmix-train: error: hydra/launcher=slurm needs the [slurm] extra (missing: "
           f'hydra_plugins.hydra_submitit_launcher); {ROOT_HINT}pip install -e ".[slurm]"\n'
    )
    assert list(tmp_path.iterdir()) == []


def test_the_slurm_launcher_away_from_slurm_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the extra installed but no ``srun`` on PATH, submitit would fail with a traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = run_in_process("augmix-train", "-m", "hydra/launcher=slurm", "seed=1,2")
    assert (result.returncode, result.stderr) == (
        2, "augmix-train: error: hydra/launcher=slurm submits the jobs with srun, which is not on PATH; run the "
           "command where srun is (e.g. a SLURM login node), or drop hydra/launcher=slurm\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_every_install_hint_in_the_package_is_the_checkout_command() -> None:
    """No module, config or doc names ``augmix-bench[...]``, which the package index does not have."""
    repository = Path(__file__).resolve().parents[1]
    files = [*(repository / "src").rglob("*.py"), *(repository / "configs").rglob("*.yaml"),
             *(repository / "docs").glob("*.md"), repository / "README.md"]
    assert [str(f) for f in files if "augmix-bench[" in f.read_text(encoding="utf-8")] == []


# -- augmix-report's output ----------------------------------------------------------------------

def _finished_run(folder: Path) -> Path:
    """A run directory holding a results.json of the clean suite only."""
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "dataset": "cifar10", "model": "wrn40_2", "augmentation": "augmix", "seed": 1, "epochs": 1,
        "clean": {"error": 10.0, "rms_calibration_error": 2.0, "n": 100}, "corruptions": None,
        "perturbations": None, "meta": {}, "config": {"dataset": {"name": "cifar10"}},
    }))
    return folder


def test_a_report_output_that_cannot_be_a_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    run = _finished_run(tmp_path / "run")
    Path("afile").write_text("mine\n")
    for output in ("afile", "afile/report"):
        assert report_main([str(run), f"output={output}"]) == 2
        assert capsys.readouterr().err == f"augmix-report: error: output={output} cannot be written: afile is not a folder\n"
    assert Path("afile").read_text() == "mine\n"
    assert sorted(p.name for p in run.iterdir()) == ["results.json"]


def test_a_report_that_fills_the_disk_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = _finished_run(tmp_path / "run")
    with file_size_limit(200):
        status = report_main([str(run), f"--output={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert status == 2 and re.fullmatch(rf"augmix-report: error: cannot write {tmp_path / 'out'}/[\w.]+: File too large\n", err), err
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


# -- a full disk ---------------------------------------------------------------------------------

def test_a_full_disk_while_numpy_writes_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's -C arrays are written by NumPy, whose short write says only ``N requested and M
    written``; the line names the file (its final name, not the temporary folder's)."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data"
    args = ["experiment=demo", f"dataset.root={root}", "dataset.train_size=100", "dataset.test_size=100",
            "trainer.num_workers=0", f"hydra.run.dir={tmp_path / 'run'}"]
    with file_size_limit(1_000_000):  # the clean pickles fit; each -C array is 1,536,128 bytes
        result = run_in_process("augmix-train", *args)
    line = result.stderr.splitlines()[-1]
    assert result.returncode == 2 and re.fullmatch(
        rf"augmix-train: error: cannot write {root}/CIFAR-10-C/gaussian_noise\.npy: 1536000 requested and \d+ "
        r"written \(\d+\.\d MB free on its disk\)", line), result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]  # no half -C folder
    assert not (tmp_path / "run").exists()
