"""augmix-report on hand-written results.json files: aggregation, paper lookup, outputs, bad input."""

from __future__ import annotations

import csv
import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from augmix_bench.data.names import CORRUPTIONS
from augmix_bench.report.aggregate import group_runs, stat
from augmix_bench.report.collect import collect
from augmix_bench.commands.report import main
from augmix_bench.report.paper import paper_dir, paper_value
from augmix_bench.report.plots import PLOT_FILES


def results(
    mean_error: float,
    *,
    dataset: str = "cifar10",
    model: str = "wrn40_2",
    augmentation: str = "standard",
    seed: int = 1,
    epochs: int = 100,
    clean: float = 5.0,
    mce: float | None = None,
    newer: bool = True,
    lr: float = 0.1,
    data: dict[str, Any] | None = None,
    root: str | None = None,
    suites: list[str] | None = None,
) -> dict[str, Any]:
    """A results.json dict whose corruption k has errors ``mean_error - 7 + k + (s - 3)`` at severity s.

    The mean over severities of corruption k is ``mean_error - 7 + k``; over the 15 corruptions it is
    ``mean_error``. ``newer`` adds the calibration bins and per-severity calibration errors;
    ``data`` is the run's data identity (absent, as in older files, when None).
    """
    per_corruption = {
        name: {"errors": [mean_error - 7 + k + (s - 3) for s in range(1, 6)], "mean_error": mean_error - 7 + k,
               "ce": None if mce is None else mce + k - 7}
        for k, name in enumerate(CORRUPTIONS)
    }
    entry = {
        "dataset": dataset, "model": model, "augmentation": augmentation, "seed": seed, "epochs": epochs,
        "clean": {"error": clean, "rms_calibration_error": 2.0, "n": 10000},
        "corruptions": {"mean_error": mean_error, "mce": mce, "relative_mce": None if mce is None else mce + 10,
                        "rms_calibration_error": 6.0, "per_corruption": per_corruption},
        "perturbations": None,
        "meta": {},
        "config": {"dataset": {"name": dataset, "root": root or f"/data/{seed}"}, "model": {"name": model},
                   "augmentation": {"name": augmentation}, "optim": {"lr": lr},
                   "trainer": {"epochs": epochs, "batch_size": 128, "num_workers": seed}, "seed": seed},
    }
    if data is not None:
        entry["data"] = data
    if suites is not None:
        entry["config"]["eval"] = {"suites": suites}
    if newer:
        bins = {"bin_size": 100, "confidence": [40.0, 70.0, 95.0], "accuracy": [35.0, 72.0, 97.0], "count": [100, 100, 100]}
        entry["clean"]["calibration_bins"] = bins
        entry["corruptions"]["calibration_bins"] = {**bins, "accuracy": [20.0, 50.0, 80.0]}
        entry["corruptions"]["rms_calibration_error_by_severity"] = [3.0, 4.0, 5.0, 7.0, 9.0]
    return entry


def write_run(folder: Path, entry: dict[str, Any], train_log: bool = True) -> Path:
    """A run directory with .hydra/, results.json and (optionally) a 3-epoch train_log.csv."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(f"trainer:\n  epochs: {entry['epochs']}\n")
    (folder / "results.json").write_text(json.dumps(entry))
    if train_log:
        (folder / "train_log.csv").write_text(
            "epoch,lr,train_loss,train_error,test_error,seconds,images_per_second\n"
            "1,0.1,2.0,60.0,50.0,1.0,100.0\n2,0.05,1.0,30.0,,1.0,100.0\n3,0.01,0.5,10.0,20.0,1.0,100.0\n"
        )
    return folder


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """standard with seeds 1, 2 (26.0, 27.0) and augmix with seed 1 (12.0), WRN-40-2 on CIFAR-10."""
    root = tmp_path / "sweep"
    root.mkdir()
    (root / "multirun.yaml").write_text("hydra: {}\n")
    write_run(root / "0", results(26.0, seed=1, clean=5.0))
    write_run(root / "1", results(27.0, seed=2, clean=6.0))
    write_run(root / "2", results(12.0, augmentation="augmix", seed=1, clean=4.5))
    return root


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_stat_is_the_mean_and_sample_std() -> None:
    s = stat([1.0, 2.0, 4.0, None])
    assert s.n == 3 and s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx((((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2) ** 0.5)  # 1.5275
    assert stat([3.0]) == type(s)(3.0, None, 1) and stat([None]) == type(s)(None, None, 0)


def test_seeds_pool_and_different_recipes_stay_apart(tmp_path: Path) -> None:
    write_run(tmp_path / "a", results(26.0, seed=1))
    write_run(tmp_path / "b", results(27.0, seed=2))
    write_run(tmp_path / "c", results(20.0, seed=1, epochs=200))
    write_run(tmp_path / "d", results(21.0, seed=1, lr=0.05))
    write_run(tmp_path / "e", results(12.0, augmentation="augmix"))
    (tmp_path / "b" / "checkpoints").mkdir()
    (tmp_path / "b" / "checkpoints" / "eval_results.json").write_text(json.dumps(results(27.0, seed=2)))
    (tmp_path / "f" / "checkpoints").mkdir(parents=True)  # augmix-eval of a checkpoint without results.json
    (tmp_path / "f" / "checkpoints" / "eval_results.json").write_text(json.dumps(results(14.0, augmentation="augmix", seed=2)))
    groups = group_runs(collect([tmp_path]).runs)  # b's re-evaluation is not counted twice, f's is counted
    # dataset.root and trainer.num_workers differ between seeds but are not part of the recipe
    labels = [(g.augmentation, g.recipe_label, g.seeds) for g in groups]
    assert labels == [
        ("standard", "optim.lr=0.05, trainer.epochs=100", [1]),
        ("standard", "optim.lr=0.1, trainer.epochs=100", [1, 2]),
        ("standard", "optim.lr=0.1, trainer.epochs=200", [1]),
        ("augmix", "", [1, 2]),
    ]
    assert groups[3].runs[1].run_dir == tmp_path / "f" and groups[3].stat("mean_corruption_error").mean == 13.0
    pooled = groups[1].stat("mean_corruption_error")
    assert (pooled.mean, pooled.n) == (26.5, 2) and pooled.std == pytest.approx(0.5**0.5)
    assert groups[1].stat("error/gaussian_noise").mean == pytest.approx(26.5 - 7)
    assert groups[1].stat("severity_error/5").mean == pytest.approx(26.5 + 2)


def test_paper_lookup() -> None:
    assert paper_value("cifar10", "wrn40_2", "standard", "mean_corruption_error") == 26.9
    assert paper_value("cifar10", "wrn40_2", "augmix", "mean_corruption_error") == 11.2
    assert paper_value("cifar100", "resnext29", "augmix", "mean_corruption_error") == 34.9
    assert paper_value("cifar100", "wrn40_2", "augmix_no_jsd", "mean_corruption_error") == 39.8  # ablation only
    assert paper_value("imagenet", "resnet50", "augmix", "mce") == 68.4
    assert paper_value("imagenet", "resnet50", "standard", "clean_error") == 23.9
    assert paper_value("cifar10", "wrn40_2", "augmix", "clean_error") is None
    assert paper_value("synthetic", "wrn40_2", "augmix", "mean_corruption_error") is None
    with pytest.raises(ValueError, match="unknown paper metric 'accuracy'"):
        paper_value("cifar10", "wrn40_2", "augmix", "accuracy")
    assert paper_dir() == Path(__file__).resolve().parents[1] / "results" / "paper"  # a checkout


def test_report_files(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    report = sweep / "report"
    assert out.splitlines()[0] == str(report / "report.md")
    assert "| wrn40_2 | 26.50 ± 0.71, n=2 (26.9) | 12.00 (11.2) |" in out  # the main table is printed
    md = (report / "report.md").read_text()
    assert "| wrn40_2 | 26.50 ± 0.71, n=2 (26.9) | 12.00 (11.2) |" in md
    assert "| wrn40_2 | 5.50 ± 0.71, n=2 | 4.50 |" in md  # clean error: no paper value on CIFAR
    assert "| wrn40_2 | standard | 2 | 19.50 | 20.50 |" in md  # per corruption: means over the seeds
    assert "3 of 3 job folders finished" in md and "partial" not in md
    for name in PLOT_FILES:
        assert f"![{name}]({name})" in md
        width, height = png_size(report / name)
        assert 300 <= width <= 2000 and 300 <= height <= 2000 and (report / name).stat().st_size > 5000

    rows = list(csv.DictReader((report / "summary.csv").open()))
    assert [(r["augmentation"], r["seed"], r["mean_corruption_error"]) for r in rows] == [
        ("standard", "1", "26.0"), ("standard", "2", "27.0"), ("augmix", "1", "12.0")]
    assert list(rows[0])[:9] == ["path", "dataset", "data", "model", "augmentation", "seed", "epochs", "recipe", "clean_error"]
    assert [f"error/{c}" for c in CORRUPTIONS] == list(rows[0])[-15:]
    assert rows[0]["error/gaussian_noise"] == "19.0" and rows[0]["clean_calibration"] == "2.0"

    tex = (report / "report.tex").read_text()
    for command in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrr}"):
        assert command in tex
    assert r"wrn40\_2 & $26.50 \pm 0.71$, $n{=}2$ (26.9) & 12.00 (11.2) \\" in tex
    assert "–" not in tex and "±" not in tex


def test_recipes_that_differ_are_noted(tmp_path: Path) -> None:
    write_run(tmp_path / "a", results(26.0, seed=1, epochs=100))
    write_run(tmp_path / "b", results(20.0, seed=1, epochs=200))
    assert main([str(tmp_path), f"output={tmp_path / 'out'}"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| wrn40_2 [trainer.epochs=100] | 26.00 (26.9) |" in md
    assert "| wrn40_2 [trainer.epochs=200] | 20.00 (26.9) |" in md
    assert "reported separately, never averaged together" in md


def test_missing_cells_and_older_results(tmp_path: Path) -> None:
    write_run(tmp_path / "a", results(26.0, newer=False), train_log=False)
    write_run(tmp_path / "b", results(30.0, model="allconv", augmentation="augmix", newer=False), train_log=False)
    assert main([str(tmp_path), "--output", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    md = (out / "report.md").read_text()
    assert "| allconv | – (30.8) | 30.00 (15.0) |" in md and "| wrn40_2 | 26.00 (26.9) | – (11.2) |" in md
    for name in ("reliability.png", "calibration.png", "training_curves.png"):
        assert not (out / name).exists() and f"`{name}`: not drawn" in md
    assert png_size(out / "severity.png")[0] >= 300


def test_imagenet_and_ablation_tables(tmp_path: Path) -> None:
    write_run(tmp_path / "in", results(50.0, dataset="imagenet", model="resnet50", augmentation="augmix", clean=22.0, mce=66.0))
    write_run(tmp_path / "ab", results(15.0, augmentation="augmix_no_jsd"))
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "### imagenet: mCE (%)" in md and "| resnet50 | 66.00 (68.4) |" in md
    assert "| resnet50 | augmix | 22.00 (22.4) | 59.00 |" in md  # Table 2: clean, then CE of gaussian noise
    assert md.count("| 66.00 (68.4) | 76.00 |") == 1  # mCE (paper) and relative mCE
    assert "### Ablation, WRN-40-2 on cifar10-C" in md
    assert "| augmix_no_jsd | 15.00 (14.0) |" in md and "| random_autoaugment | – (21.0) |" in md


def test_bad_input_is_one_line(tmp_path: Path, sweep: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"augmix-report: error: {tmp_path / 'nope'} does not exist; pass run directories, sweep directories or results.json files"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"augmix-report: error: no finished runs to report under {empty}"]

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "results.json").write_text('{"dataset": "cifar10", "model": ')
    assert main([str(truncated)]) == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith(f"augmix-report: error: no finished runs to report under {truncated} (malformed: ")
    assert "is not valid JSON" in line or "JSON" in line, line

    (sweep / "3").mkdir()
    (sweep / "3" / "results.json").write_text('{"dataset": "cifar10", "model": ')
    (sweep / "4" / ".hydra").mkdir(parents=True)
    (sweep / "4" / ".hydra" / "config.yaml").write_text("trainer:\n  epochs: 100\n")
    assert main([str(sweep), str(empty)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"augmix-report: warning: no results.json or eval_results.json under {empty}",
        f"augmix-report: warning: skipping malformed {sweep / '3' / 'results.json'}: it is not JSON "
        "(Expecting value: line 1 column 33 (char 32))",
    ]
    md = (sweep / "report" / "report.md").read_text()
    assert "26.50 ± 0.71, n=2 (26.9)" in md  # the rest is still reported
    assert "3 of 4 job folders finished (partial sweep)" in md
    assert "no results.json: still training or stopped (0 of 100 epochs in train_log.csv)" in md

    assert main([str(sweep), "--nope"]) == 2
    assert capsys.readouterr().err.splitlines() == ["augmix-report: error: unrecognized arguments: --nope"]
    assert main([]) == 2
    assert capsys.readouterr().err.splitlines() == ["augmix-report: error: the following arguments are required: PATH"]


def test_missing_matplotlib_names_the_extra(sweep: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an environment without the extra sees
    assert main([str(sweep)]) == 2
    line = capsys.readouterr().err.strip()
    assert line == ('augmix-report: error: augmix-report needs the [report] extra (missing: matplotlib); '
                    'install it in the augmix-bench checkout: pip install -e ".[report]"')
    assert not (sweep / "report").exists()


@pytest.mark.e2e
def test_console_script(sweep: Path, tmp_path: Path) -> None:
    result = run_cli("augmix-report", str(sweep / "0" / "results.json"), str(sweep / "2"), cwd=tmp_path)
    assert result.stdout.splitlines()[0] == str(sweep / "0" / "report" / "report.md")
    assert "| wrn40_2 | 26.00 (26.9) | 12.00 (11.2) |" in result.stdout


BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def multirun_yaml(folder: Path, task: list[str], params: dict[str, str] | None = None) -> None:
    """The parts of Hydra's multirun.yaml that say which jobs a sweep has."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"hydra": {"sweeper": {"_target_": BASIC_SWEEPER, "max_batch_size": None, "params": params},
                        "overrides": {"task": task}}}
    (folder / "multirun.yaml").write_text(json.dumps(config))  # JSON is YAML


def test_a_sweep_counts_its_planned_jobs_and_shows_a_failed_jobs_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = tmp_path / "sweep"
    multirun_yaml(sweep, ["trainer.batch_size=32,64,16", "seed=1"])
    write_run(sweep / "0", results(26.0, seed=1))
    write_run(sweep / "2", results(27.0, seed=2))
    line = "cifar10 not found in /x/cifar-10-batches-py; run with dataset.download=true"
    failed = {"job": 1, "overrides": ["trainer.batch_size=64", "seed=1"], "run_dir": str(sweep / "1"), "error": line}
    (sweep / "runs.jsonl").write_text(json.dumps({"job": 0, "clean_error": 5.0}) + "\n" + json.dumps(failed) + "\n")
    # a preset's sweep (hydra.sweeper.params) with the command line's: 2 x 2 jobs; job 1's folder is named "a"
    preset = tmp_path / "preset"
    multirun_yaml(preset, ["seed=1,2"], {"model": "wrn40_2,allconv"})
    write_run(preset / "a", results(20.0))
    (preset / "a" / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    num: 1\n")
    assert main([str(sweep), str(preset), f"output={tmp_path / 'out'}"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"- sweep `{sweep}`: 2 of 3 jobs finished; job 1: {line}\n" in md
    assert f"- sweep `{preset}`: 1 of 4 jobs finished; not started: job 0, 2, 3\n" in md
    assert capsys.readouterr().err == f"augmix-report: warning: sweep {sweep}: job 1 failed: {line}\n"


def image_folder_data(files: str, source: str = "generated", corruptions: str | None = "c0ffee00c0ffee00") -> dict:
    """The data identity of an image-folder run (results.json's ``data``)."""
    return {"name": "image_folder", "fingerprint": files, "corruptions": {"source": source, "fingerprint": corruptions}}


def test_runs_on_different_data_are_never_averaged(tmp_path: Path) -> None:
    """Three image folders, all seed 1, are three cells, not one of n=3; the same files with another
    -C set are another cell; an older results.json without a data record stays apart from them."""
    flowers = image_folder_data("aaaa1111bbbb2222")
    runs = {
        "a": results(60.0, dataset="image_folder", data=flowers, root="/d/flowers"),
        "b": results(63.0, dataset="image_folder", data=image_folder_data("cccc3333dddd4444"), root="/d/birds"),
        "c": results(67.0, dataset="image_folder", data=image_folder_data("eeee5555ffff6666"), root="/d/cars"),
        "d": results(62.0, dataset="image_folder", data=flowers, root="/elsewhere/flowers"),  # same files, seed 1 again
        "e": results(70.0, dataset="image_folder", root="/d/flowers",
                     data=image_folder_data("aaaa1111bbbb2222", "corruptions_dir", "0123456789abcdef")),
        "f": results(50.0, dataset="image_folder", root="/d/old"),  # written before the data record
    }
    for name, entry in runs.items():
        write_run(tmp_path / name, entry)
    groups = group_runs(collect([tmp_path]).runs)
    assert [(g.dataset_label, g.recipe_label, g.seeds, g.stat("mean_corruption_error").mean) for g in groups] == [
        ("image_folder [birds, files cccc3333]", "", [1], 63.0),
        ("image_folder [cars, files eeee5555]", "", [1], 67.0),
        ("image_folder [files not recorded]", "", [1], 50.0),
        ("image_folder [flowers, files aaaa1111]", "data.corruptions=corruptions_dir 0123456789abcdef", [1], 70.0),
        ("image_folder [flowers, files aaaa1111]", "data.corruptions=generated c0ffee00c0ffee00", [1, 1], 61.0),
    ]
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "n=3" not in md and "## image_folder [cars, files eeee5555]" in md
    assert ("- image_folder: runs on 4 different sets of files (birds, files cccc3333; cars, files eeee5555; "
            "files not recorded; flowers, files aaaa1111) are reported apart, never averaged together.") in md
    assert ("- 1 run(s) record no data identity (results.json written before it was recorded): grouped by "
            "dataset name alone, apart from runs that record a files fingerprint.") in md
    assert ("*wrn40_2 / standard [data.corruptions=generated c0ffee00c0ffee00]: repeated seeds (seed 1 2 times); "
            "runs with the same seed are not independent samples, yet n counts each.*") in md
    rows = list(csv.DictReader((tmp_path / "report" / "summary.csv").open()))
    assert sorted(r["data"] for r in rows)[:2] == ["birds, files cccc3333", "cars, files eeee5555"]


def test_different_evaluation_settings_are_never_averaged(tmp_path: Path) -> None:
    """Seeds evaluated with other eval.suites are other cells; CIFAR's name identifies its files, so
    a run recording its data pools with an older one of the same recipe and -C source."""
    cifar = {"name": "cifar10", "fingerprint": None, "corruptions": {"source": "released", "fingerprint": None}}
    write_run(tmp_path / "a", results(26.0, seed=1, suites=["clean", "corruptions"], data=cifar))
    write_run(tmp_path / "b", results(28.0, seed=2, suites=["clean", "corruptions"]))
    write_run(tmp_path / "c", results(30.0, seed=3, suites=["clean"], data={**cifar, "corruptions": None}))
    older = results(20.0, seed=4, suites=["clean", "corruptions"])  # an older run on a -C set of its own
    older["config"]["dataset"]["corruptions_dir"] = "/sets/mine"
    write_run(tmp_path / "d", older)
    groups = group_runs(collect([tmp_path]).runs)
    assert [(g.dataset_label, g.recipe_label, g.seeds) for g in groups] == [
        ("cifar10", 'data.corruptions=?, eval.suites=["clean"]', [3]),  # no -C evaluated
        ("cifar10", 'data.corruptions=not recorded, corruptions_dir=/sets/mine, eval.suites=["clean", "corruptions"]', [4]),
        ("cifar10", 'data.corruptions=released, eval.suites=["clean", "corruptions"]', [1, 2]),
    ]


def test_figures_name_what_they_compare_and_draw_whiskers_only_for_several_seeds(tmp_path: Path) -> None:
    from matplotlib.container import BarContainer, ErrorbarContainer

    from augmix_bench.report.plots import corruption_errors, severity

    write_run(tmp_path / "a", results(26.0, seed=1))
    write_run(tmp_path / "b", results(27.0, seed=2))
    write_run(tmp_path / "c", results(12.0, augmentation="augmix", seed=1))  # n=1: a mean without a spread
    groups = group_runs(collect([tmp_path]).runs)

    (ax,) = severity(groups).axes
    assert ax.get_title() == "cifar10: error vs severity, wrn40_2: standard vs augmix"
    standard, augmix = ax.containers
    assert standard.has_yerr and not augmix.has_yerr
    (whisker_lines,) = standard.lines[2]
    lengths = [round(float(s[1][1] - s[0][1]), 3) for s in whisker_lines.get_segments()]
    assert lengths == [0.0] + [1.414] * 5  # 2 x the std of the 2 seeds: equal clean errors, then 26 and 27

    (ax,) = corruption_errors(groups).axes
    assert ax.get_title() == "cifar10: error per corruption, wrn40_2: standard vs augmix"
    assert [type(c) for c in ax.containers] == [BarContainer, ErrorbarContainer, BarContainer]
    (whisker_lines,) = ax.containers[1].lines[2]
    assert len(whisker_lines.get_segments()) == 15  # one whisker per corruption, all for the n=2 bars


def test_one_epoch_curves_have_whole_epoch_ticks_and_small_reliability_sets_say_so(tmp_path: Path) -> None:
    from augmix_bench.report.plots import reliability, training_curves

    entry = results(26.0)
    entry["clean"]["calibration_bins"] = {"bin_size": 100, "confidence": [80.0], "accuracy": [70.0], "count": [30]}
    run_dir = write_run(tmp_path / "a", entry, train_log=False)
    (run_dir / "train_log.csv").write_text(
        "epoch,lr,train_loss,train_error,test_error,seconds,images_per_second\n1,0.1,2.0,60.0,50.0,1.0,100.0\n")
    runs = collect([tmp_path]).runs

    figure = training_curves(runs)
    figure.canvas.draw()
    for ax in figure.axes:
        low, high = ax.get_xlim()
        assert [t for t in ax.get_xticks() if low <= t <= high] == [1.0]
    assert [ax.get_title() for ax in figure.axes] == [
        "cifar10: train loss", "cifar10: learning rate (epoch start)", "cifar10: test error (%)"]

    (ax,) = [a for a in reliability(runs).axes if a.get_visible()]
    assert [t.get_text() for t in ax.texts] == ["clean: 30 images, 1 bin: too few for a reliability diagram"]
    assert [line.get_label() for line in ax.lines] == ["perfect calibration", "clean (1 bin)", "corrupted (3 bins)"]


def test_successors_beside_their_published_numbers_with_overlap_marked(tmp_path: Path) -> None:
    """experiment=successors-like runs (ResNet-18, as PRIME's README reports them): paper values from
    results/paper/successors.csv with their source, and † where the ops overlap -C corruptions, read
    from results.json's corruption_overlap or, in files without it, from the config's augmentation."""
    runs = {"standard": 30.0, "augmix": 12.0, "prime_jsd": 11.5, "fmix": 25.0, "trivialaugment": 20.0}
    for k, (augmentation, error) in enumerate(runs.items()):
        write_run(tmp_path / str(k), results(error, model="resnet18", augmentation=augmentation))
    pixmix = results(10.0, model="resnet18", augmentation="pixmix")
    pixmix["config"]["augmentation"]["all_ops"] = False
    pixmix["corruption_overlap"] = {}  # recorded: held out
    write_run(tmp_path / "p", pixmix)
    assert main([str(tmp_path), f"output={tmp_path / 'out'}"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| model | standard | augmix | fmix | pixmix | prime_jsd | trivialaugment |" in md
    # CIFAR-10 Standard's -C number is left out of successors.csv (the README's two columns disagree)
    assert "| resnet18 | 30.00 | 12.00 (11.4) | 25.00 | 10.00 | 11.50 (11.0) † | 20.00 † |" in md
    assert "| resnet18 | 5.00 (5.0) | 5.00 (4.8) | 5.00 | 5.00 | 5.00 (6.9) † | 5.00 † |" in md  # clean error
    assert ("*Paper value of resnet18 / prime_jsd: PRIME README (github.com/amodas/PRIME-augmentations at 0290f6b), "
            "CIFAR table, row CIFAR-10 PRIME (with JSD, config/cifar10_cfg.py no_jsd=False): clean accuracy 93.1, "
            "mCE 11.0.*") in md
    assert ("*† -C is not held out for prime_jsd, trivialaugment: their operations overlap -C corruptions, "
            "op (corruptions): diffeo (elastic_transform), brightness (brightness), contrast (contrast), "
            "color (saturate), sharpness (defocus_blur, gaussian_blur).") in md
    assert "| resnet18 | trivialaugment † | 1 |" in md and "| resnet18 | pixmix | 1 |" in md  # per corruption
    rows = {r["augmentation"]: r["overlapping_ops"] for r in csv.DictReader((tmp_path / "out" / "summary.csv").open())}
    assert rows == {"standard": "", "augmix": "", "fmix": "", "pixmix": "", "prime_jsd": "diffeo",
                    "trivialaugment": "brightness contrast color sharpness"}
    tex = (tmp_path / "out" / "report.tex").read_text()
    assert r"11.50 (11.0) $^\dagger$ & 20.00 $^\dagger$ \\" in tex and "†" not in tex


def test_prime_on_imagenet_beside_its_readme(tmp_path: Path) -> None:
    write_run(tmp_path / "a", results(60.0, dataset="imagenet", model="resnet50", augmentation="prime", mce=58.0, clean=24.0))
    write_run(tmp_path / "b", results(70.0, dataset="imagenet", model="resnet50", augmentation="augmix", mce=69.0, clean=23.0))
    assert main([str(tmp_path), f"output={tmp_path / 'out'}"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| resnet50 | 69.00 (68.4) | 58.00 (57.5) † |" in md  # mCE: the AugMix paper's, then PRIME's README
    assert "| resnet50 | 23.00 (22.4) | 24.00 (23.0) † |" in md  # clean error: 100 - the README's 77.0
    assert paper_value("imagenet", "resnet50", "prime_jsd", "mce") == 55.5
    assert paper_value("imagenet", "resnet50", "standard", "mce") == 80.6  # the AugMix paper's own, not PRIME's 76.1
