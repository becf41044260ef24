"""The console scripts as a user runs them: help, composed config, bad input, multirun."""

import json
from pathlib import Path

import pytest

from conftest import TINY_RUN, run_cli, run_in_process
from omegaconf import OmegaConf


@pytest.mark.e2e
def test_help_works_from_any_folder(tmp_path: Path) -> None:
    train = run_cli("augmix-train", "--help", cwd=tmp_path).stdout  # a real process, from another folder
    assert train.startswith("augmix-train: train a model")
    assert "model: allconv, custom, densenet, densenet_bc, resnet50, resnext29, wrn40_2" in train
    assert "augmentation: adversarial, augmix, augmix_no_jsd, autoaugment, cutmix, cutout, fmix, mixup, pixmix, prime, prime_jsd, randaugment, randaugment_jsd, random_aa, random_aa_jsd, standard, transform, trivialaugment, trivialaugment_jsd" in train
    evaluation = run_in_process("augmix-eval", "--help").stdout
    assert "augmix-eval" in evaluation and "checkpoint: ???" in evaluation


def test_cfg_job_shows_the_paper_recipe(tmp_path: Path) -> None:
    out = run_in_process("augmix-train", "dataset=cifar10", "model=wrn40_2", "--cfg", "job").stdout
    cfg = OmegaConf.create(out)
    assert cfg.trainer.epochs == 100 and cfg.trainer.batch_size == 128 and cfg.trainer.eval_batch_size == 1000
    assert (cfg.optim.lr, cfg.optim.momentum, cfg.optim.nesterov, cfg.optim.weight_decay) == (0.1, 0.9, True, 5e-4)
    assert (cfg.optim.schedule, cfg.optim.min_lr, cfg.optim.warmup_epochs) == ("cosine", 1e-6, 0)
    aug = cfg.augmentation
    assert (aug.name, aug.width, aug.depth, aug.severity, aug.alpha) == ("augmix", 3, -1, 3, 1.0)
    assert (aug.jsd, aug.jsd_lambda, aug.all_ops, aug.fill) == (True, 12.0, False, 0)
    assert cfg.dataset.name == "cifar10" and cfg.model.depth == 40 and cfg.model.widen_factor == 2


def test_overrides_reach_the_composed_config(tmp_path: Path) -> None:
    out = run_in_process("augmix-train", "optim.lr=0.2", "augmentation.jsd=false", "trainer.epochs=7", "--cfg", "job").stdout
    cfg = OmegaConf.create(out)
    assert (cfg.optim.lr, cfg.augmentation.jsd, cfg.trainer.epochs) == (0.2, False, 7)


def one_line_error(result, program: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{program}: error: ")
    return lines[0]


def test_unknown_model_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(run_in_process("augmix-train", "model=nosuchnet"), "augmix-train")
    assert "'nosuchnet'" in line and "wrn40_2" in line


def test_unknown_choice_in_a_sweep_is_one_line(tmp_path: Path) -> None:
    result = run_in_process("augmix-train", "-m", "augmentation=augmix,nosuchaug")
    line = one_line_error(result, "augmix-train")
    assert "unknown augmentation 'nosuchaug'" in line and "standard" in line


def test_missing_data_is_one_line_naming_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", f"dataset.root={empty}", *TINY_RUN)
    line = one_line_error(result, "augmix-train")
    assert str(empty / "cifar-10-batches-py") in line and "dataset.download=true" in line


def test_missing_checkpoint_is_one_line(tmp_path: Path) -> None:
    result = run_in_process("augmix-eval", f"checkpoint={tmp_path / 'nope.pt'}")
    assert "does not exist" in one_line_error(result, "augmix-eval")


def test_bad_model_option_is_one_line(tmp_path: Path, cifar10_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "model.depth=11")
    assert "model.depth=11 is invalid" in one_line_error(result, "augmix-train")


@pytest.mark.e2e
def test_multirun_writes_one_folder_and_index_line_per_job(tmp_path: Path, cifar10_root: Path) -> None:
    sweep = tmp_path / "sweep"
    run_cli(
        "augmix-train", "-m", "augmentation=standard,augmix", f"dataset.root={cifar10_root}", *TINY_RUN,
        "eval.suites=[clean]", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )
    entries = [json.loads(line) for line in (sweep / "runs.jsonl").read_text().splitlines()]
    assert sorted(e["augmentation"] for e in entries) == ["augmix", "standard"]
    for entry in entries:
        run_dir = Path(entry["run_dir"])
        assert run_dir.parent == sweep
        results = json.loads((run_dir / "results.json").read_text())
        assert results["augmentation"] == entry["augmentation"]
        assert entry["clean_error"] == results["clean"]["error"]
        assert (run_dir / "checkpoints" / "last.pt").is_file() and (run_dir / "train_log.csv").is_file()

    report = run_cli("augmix-report", str(sweep), cwd=tmp_path).stdout
    assert report.splitlines()[0] == str(sweep / "report" / "report.md")
    # A WRN-10-1 is not the paper's WRN-40-2: no paper value beside it; no corruptions suite: no measured value
    assert "| wrn10_1 | – | – |" in report
    by_name = {e["augmentation"]: e for e in entries}
    runs = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/results.json"))]
    intervals = {r["augmentation"]: r["clean"]["error_ci95"] for r in runs}  # one seed: the bootstrap interval beside

    def cell(method: str) -> str:
        low, high = intervals[method]
        return f"{by_name[method]['clean_error']:.2f} [{low:.1f}, {high:.1f}]"

    clean = f"| wrn10_1 | {cell('standard')} | {cell('augmix')} |"
    assert clean in (sweep / "report" / "report.md").read_text()


def test_a_job_that_fails_while_the_sweep_runs_is_recorded_and_reported(
    tmp_path: Path, cifar10_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Job 0 finds no data as it starts: its line is printed and recorded in runs.jsonl, job 1 still
    trains, the sweep ends with exit status 2; the report counts the planned jobs and shows the line."""
    from augmix_bench.commands.report import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = run_in_process(
        "augmix-train", "-m", f"dataset.root=empty,{cifar10_root}", *TINY_RUN, "eval.suites=[clean]", "hydra.sweep.dir=sw",
    )
    missing = ("cifar10 not found in empty/cifar-10-batches-py; run with dataset.download=true, "
               "or point dataset.root (env AUGMIX_DATA) at the folder that holds it")
    sweep = tmp_path / "sw"
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"augmix-train: error: {missing}",
        f"augmix-train: error: 1 of 2 jobs failed: job 0 (dataset.root=empty); their lines are in {sweep / 'runs.jsonl'}",
    ]
    entries = [json.loads(line) for line in (sweep / "runs.jsonl").read_text().splitlines()]
    assert [(e["job"], e.get("error")) for e in entries] == [(0, missing), (1, None)]
    assert sorted(p.name for p in sweep.iterdir()) == ["1", "multirun.yaml", "runs.jsonl"]  # job 0's folder went
    data = json.loads((sweep / "1" / "results.json").read_text())["data"]  # CIFAR's name says which files
    assert data == {"name": "cifar10", "fingerprint": None, "corruptions": None}  # eval.suites=[clean]: no -C

    assert main([str(sweep)]) == 0
    md = (sweep / "report" / "report.md").read_text()
    assert f"- sweep `sw`: 1 of 2 jobs finished; job 0: {missing}\n" in md
    assert f"augmix-report: warning: sweep {sweep}: job 0 failed: {missing}\n" in capsys.readouterr().err
