"""End-to-end training runs through the real CLI: learning, results.json, evaluation, resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CORRUPTION_NAMES, TINY_RUN, run_cli, run_in_process, write_cifar, write_cifar_c

SCHEMA = {
    "dataset", "model", "augmentation", "seed", "epochs", "data", "corruption_overlap", "clean", "corruptions",
    "perturbations", "shifts", "corruptions_bar", "protocol", "meta", "config",
}


@pytest.fixture(scope="module")
def cifar500(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CIFAR-10 folder with 1,000 training and 500 test images, plus CIFAR-10-C."""
    root = tmp_path_factory.mktemp("cifar500")
    test_x, test_y = write_cifar(root, "cifar10", n_train=1000, n_test=500, seed=7, train_files=5)
    write_cifar_c(root / "CIFAR-10-C", test_x, test_y, seed=7)
    return root


@pytest.mark.e2e
def test_two_epochs_learn_and_evaluation_reproduces(cifar500: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", "dataset=cifar10", "model=wrn40_2", f"dataset.root={cifar500}", f"hydra.run.dir={run_dir}",
        *TINY_RUN, "trainer.epochs=2", cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert set(results) == SCHEMA
    assert (results["dataset"], results["model"], results["augmentation"], results["seed"], results["epochs"]) == (
        "cifar10", "wrn10_1", "augmix", 1, 2,
    )
    assert results["data"] == {"name": "cifar10", "fingerprint": None, "corruptions": {"source": "released", "fingerprint": None}}
    assert results["corruption_overlap"] == {}  # AugMix's own op set: -C held out
    clean = results["clean"]
    assert set(clean) == {"error", "rms_calibration_error", "rms_calibration_error_reference", "nll", "brier", "ece", "n", "calibration_bins", "error_ci95"} and clean["n"] == 500
    bins = clean["calibration_bins"]  # 500 images: five equal-mass bins of 100, least confident first
    assert bins["bin_size"] == 100 and bins["count"] == [100] * 5 and bins["confidence"] == sorted(bins["confidence"])
    accuracy = sum(a * n for a, n in zip(bins["accuracy"], bins["count"])) / 500
    assert accuracy == pytest.approx(100.0 - clean["error"])
    assert clean["error"] < 60.0, "the run did not learn (chance is 90% error)"
    corruptions = results["corruptions"]
    assert set(corruptions) == {
        "mean_error", "mce", "relative_mce", "rms_calibration_error", "rms_calibration_error_reference",
        "rms_calibration_error_by_severity", "calibration_bins", "extra_mean_error", "extra_corruptions",
        "per_corruption", "nll", "brier", "ece", "mean_error_ci95", "mce_ci95",
    }
    assert (corruptions["extra_mean_error"], corruptions["extra_corruptions"]) == (None, [])  # CIFAR-10-C: the 15
    assert len(corruptions["rms_calibration_error_by_severity"]) == 5
    assert sum(corruptions["calibration_bins"]["count"]) == 15 * 5 * 500
    assert list(corruptions["per_corruption"]) == list(CORRUPTION_NAMES)
    for entry in corruptions["per_corruption"].values():
        assert set(entry) == {"errors", "mean_error", "ce"} and len(entry["errors"]) == 5
        assert all(0.0 <= e <= 100.0 for e in entry["errors"])
        assert entry["mean_error"] == pytest.approx(np.mean(entry["errors"]))
    means = [entry["mean_error"] for entry in corruptions["per_corruption"].values()]
    assert corruptions["mean_error"] == pytest.approx(np.mean(means))
    assert 0.0 <= corruptions["rms_calibration_error"] <= 100.0 and 0.0 <= clean["rms_calibration_error"] <= 100.0
    assert results["perturbations"] is None
    meta = results["meta"]
    assert {"git_commit", "versions", "device", "train_seconds", "eval_seconds", "train_images_per_second"} <= set(meta)
    assert meta["versions"]["torch"] == torch.__version__.split("+")[0] or meta["versions"]["torch"] == torch.__version__
    assert meta["train_seconds"] > 0 and meta["train_images_per_second"] > 0
    assert results["config"]["model"]["depth"] == 10

    with open(run_dir / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_error", "test_error", "seconds", "images_per_second"]
    assert float(rows[0]["lr"]) == pytest.approx(0.1)

    other = tmp_path / "elsewhere"
    other.mkdir()
    run_cli("augmix-eval", f"checkpoint={run_dir / 'checkpoints' / 'last.pt'}", "trainer.progress=false", cwd=other)
    evaluated = json.loads((run_dir / "checkpoints" / "eval_results.json").read_text())
    assert evaluated["clean"] == clean
    assert evaluated["corruptions"]["mean_error"] == corruptions["mean_error"]

    limited = tmp_path / "limited.json"
    run_cli(
        "augmix-eval", f"checkpoint={run_dir / 'checkpoints' / 'last.pt'}", "eval.suites=[clean]", "eval.limit=50",
        f"output={limited}", "trainer.progress=false", "dataset.corruptions_url=http://127.0.0.1:9/mirror.tar", cwd=other,
    )
    partial = json.loads(limited.read_text())
    assert partial["clean"]["n"] == 50 and partial["corruptions"] is None
    # dataset keys the eval config does not list (only the checkpoint's config has them) are accepted
    assert partial["config"]["dataset"]["corruptions_url"] == "http://127.0.0.1:9/mirror.tar"
    assert partial["config"]["model"]["depth"] == 10


@pytest.mark.e2e
@pytest.mark.signals
def test_killed_run_resumes_to_the_uninterrupted_result(cifar10_root: Path, tmp_path: Path) -> None:
    common = [f"dataset.root={cifar10_root}", *TINY_RUN, "trainer.epochs=3", "eval.suites=[clean]", "seed=5"]
    full = tmp_path / "full"
    run_cli("augmix-train", *common, f"hydra.run.dir={full}", cwd=tmp_path)

    killed = tmp_path / "killed"
    executable = Path(sys.executable).with_name("augmix-train")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [str(executable), *common, f"hydra.run.dir={killed}"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    log = killed / "train_log.csv"
    deadline = time.monotonic() + 300
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "results.json").exists()
    finished = len(log.read_text().splitlines()) - 1
    assert finished < 3

    run_cli("augmix-train", *common, f"hydra.run.dir={killed}", "resume=true", cwd=tmp_path)
    a = torch.load(full / "checkpoints" / "last.pt", weights_only=False)
    b = torch.load(killed / "checkpoints" / "last.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 3
    for key, tensor in a["model"].items():
        assert torch.allclose(tensor.double(), b["model"][key].double(), atol=1e-5, rtol=0), key
    results_a = json.loads((full / "results.json").read_text())
    results_b = json.loads((killed / "results.json").read_text())
    assert results_a["clean"] == results_b["clean"]
    columns = ("epoch", "lr", "train_loss", "train_error", "test_error")
    rows_a = [{c: r[c] for c in columns} for r in csv.DictReader(open(full / "train_log.csv"))]
    rows_b = [{c: r[c] for c in columns} for r in csv.DictReader(open(killed / "train_log.csv"))]
    assert rows_a == rows_b


@pytest.mark.e2e
def test_resume_refuses_a_changed_recipe(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "run"
    common = [f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]", f"hydra.run.dir={run_dir}"]
    run_cli("augmix-train", *common, cwd=tmp_path)
    records = {p.name: p.read_bytes() for p in (run_dir / ".hydra").iterdir()}
    log = (run_dir / "train.log").read_text()
    monkeypatch.chdir(tmp_path)  # the refusals run in this process: the same entry point, no PyTorch start-up each
    again = run_in_process("augmix-train", *common)
    assert again.returncode == 2 and "already holds a checkpoint; pass resume=true" in again.stderr
    changed = run_in_process("augmix-train", *common, "resume=true", "optim.lr=0.5")
    assert changed.returncode == 2 and "the config differs at optim" in changed.stderr
    # the refused commands left the run's records as they were, plus their error lines in the log
    assert {p.name: p.read_bytes() for p in (run_dir / ".hydra").iterdir()} == records
    added = (run_dir / "train.log").read_text().removeprefix(log).splitlines()
    assert [line.split(" - ", 1)[1] for line in added] == [again.stderr.strip(), changed.stderr.strip()]
    other_pipeline = run_in_process("augmix-train", *common, "resume=true", "trainer.data_pipeline=gpu")
    assert other_pipeline.returncode == 2
    assert "it trained with the cpu data pipeline, this run would use gpu" in other_pipeline.stderr


@pytest.mark.e2e
def test_reduced_precision_channels_last_and_compile_train(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]", f"hydra.run.dir={run_dir}",
        "trainer.precision=bf16", "trainer.channels_last=true", "trainer.compile=true", "trainer.compile_backend=aot_eager",
        cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["config"]["trainer"]["precision"] == "bf16" and results["clean"]["n"] == 100
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)
    assert all(not key.startswith("_orig_mod") for key in state["model"])  # the plain module is saved
    monkeypatch.chdir(tmp_path)
    bad = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "trainer.precision=fp8")
    assert bad.returncode == 2 and "trainer.precision='fp8' is invalid; choose from: fp32, bf16, fp16" in bad.stderr
