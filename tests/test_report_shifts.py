"""augmix-report on hand-written results.json files with natural-shift sets, uncertainty metrics and
bootstrap intervals: the summary, shifts and uncertainty tables, effective robustness (the fit
checked against numpy.polyfit on logit axes), the plot and summary.csv."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_report import png_size, results, write_run

from augmix_bench.commands.report import main
from augmix_bench.report.aggregate import group_runs
from augmix_bench.report.collect import collect
from augmix_bench.report.plots import effective_robustness
from augmix_bench.report.robustness import baseline_fit

#: (augmentation, seed, clean error, cifar10_1 error) of the runs; the standard ones are off any one line.
RUNS: tuple[tuple[str, int, float, float], ...] = (
    ("standard", 1, 5.0, 13.0),
    ("standard", 2, 8.0, 19.5),
    ("standard", 3, 12.0, 24.0),
    ("augmix", 1, 4.5, 9.0),
)


def logit(percent: float) -> float:
    p = percent / 100.0
    return math.log(p / (1.0 - p))


def with_shifts(entry: dict[str, Any], shift_error: float, interval: bool = True) -> dict[str, Any]:
    """``entry`` with a cifar10_1 entry, uncertainty metrics and (``interval``) bootstrap intervals."""
    clean = entry["clean"]["error"]
    entry["shifts"] = {"cifar10_1": {"error": shift_error, "n": 2000, "rms_calibration_error": 4.0,
                                     "nll": 0.61, "brier": 0.245, "ece": 3.5}}
    entry["clean"].update(nll=0.2 + clean / 100, brier=0.08, ece=2.5)
    entry["corruptions"].update(nll=0.9, brier=0.3, ece=8.0)
    if interval:
        entry["clean"]["error_ci95"] = [clean - 0.42, clean + 0.47]
        entry["corruptions"]["mean_error_ci95"] = [entry["corruptions"]["mean_error"] - 0.3, entry["corruptions"]["mean_error"] + 0.31]
        entry["shifts"]["cifar10_1"]["error_ci95"] = [shift_error - 1.24, shift_error + 1.26]
    return entry


def write_runs(folder: Path, runs: tuple[tuple[str, int, float, float], ...] = RUNS) -> Path:
    for i, (augmentation, seed, clean, shift) in enumerate(runs):
        write_run(folder / str(i), with_shifts(results(20.0 + i, augmentation=augmentation, seed=seed, clean=clean), shift))
    return folder


def expected_fit() -> tuple[float, float]:
    """numpy's least-squares line through the standard runs, logit(shift acc) on logit(clean acc)."""
    standard = [(100 - c, 100 - s) for a, _, c, s in RUNS if a == "standard"]
    slope, intercept = np.polyfit([logit(x) for x, _ in standard], [logit(y) for _, y in standard], 1)
    return float(slope), float(intercept)


def expected_er(clean: float, shift: float) -> float:
    slope, intercept = expected_fit()
    predicted = 100.0 / (1.0 + math.exp(-(slope * logit(100 - clean) + intercept)))
    return (100 - shift) - predicted


def test_the_baseline_fit_is_least_squares_on_logit_axes(tmp_path: Path) -> None:
    groups = group_runs(collect([write_runs(tmp_path / "runs")]).runs)
    fit = baseline_fit(groups, "cifar10_1")
    slope, intercept = expected_fit()
    assert (fit.slope, fit.intercept, fit.runs) == (pytest.approx(slope, abs=1e-12), pytest.approx(intercept, abs=1e-12), 3)
    assert 0.5 < slope < 1.5 and expected_er(4.5, 9.0) > 1.0  # augmix lies above the line

    (ax,) = effective_robustness(groups, "cifar10_1").axes
    assert ax.get_xscale() == "function" and ax.get_yscale() == "function"  # logit axes
    assert sorted(len(c.get_offsets()) for c in ax.collections) == [1, 3]  # one point per run
    line = next(line for line in ax.lines if line.get_label().startswith("standard fit"))
    xs, ys = line.get_data()
    for x, y in zip(xs, ys):  # straight on logit axes, with numpy's coefficients
        assert logit(y) == pytest.approx(slope * logit(x) + intercept, abs=1e-9)
    assert "cifar10: effective robustness on cifar10_1" in ax.get_title()


def test_report_shows_shifts_er_intervals_uncertainty_and_the_plot(tmp_path: Path) -> None:
    runs = write_runs(tmp_path / "runs")
    assert main([str(runs), f"output={tmp_path / 'out'}"]) == 0
    out = tmp_path / "out"
    md = (out / "report.md").read_text()
    er = expected_er(4.5, 9.0)
    assert "### cifar10: summary, error (%)" in md
    assert "| model | method | n | clean | mean corruption error | cifar10_1 |" in md
    assert "| wrn40_2 | standard | 3 | 8.33 ± 3.51, n=3 | 21.00 ± 1.00, n=3 | 18.83 ± 5.53, n=3 |" in md
    assert "| wrn40_2 | augmix | 1 | 4.50 [4.1, 5.0] | 23.00 [22.7, 23.3] | 9.00 [7.8, 10.3] |" in md
    assert "| model | method | n | clean | cifar10_1 | cifar10_1 ER |" in md
    assert f"| wrn40_2 | augmix | 1 | 4.50 [4.1, 5.0] | 9.00 [7.8, 10.3] | {er:.2f} |" in md
    slope, intercept = expected_fit()
    assert f"logit(shift acc) = {slope:.3f} · logit(clean acc) - {abs(intercept):.3f}, through 3 standard runs" in md
    assert "| wrn40_2 | augmix | 1 | 0.245 | 0.080 | 2.50 | 0.900 | 0.300 | 8.00 | 0.610 | 0.245 | 3.50 |" in md
    assert "| wrn40_2 | 4.50 [4.1, 5.0] |" not in md and "| 8.33 ± 3.51, n=3 | 4.50 [4.1, 5.0] |" in md  # clean grid
    assert "bootstrap interval over the test images" in md
    assert "![effective_robustness_cifar10_cifar10_1.png](effective_robustness_cifar10_cifar10_1.png)" in md
    assert png_size(out / "effective_robustness_cifar10_cifar10_1.png")[0] >= 300

    rows = {(r["augmentation"], r["seed"]): r for r in csv.DictReader((out / "summary.csv").open())}
    augmix = rows[("augmix", "1")]
    assert float(augmix["shift_er/cifar10_1"]) == pytest.approx(er, abs=1e-4)
    assert augmix["shift_error/cifar10_1"] == "9.0" and augmix["shift_error_ci95_low/cifar10_1"] == "7.76"
    assert augmix["clean_error_ci95_high"] == "4.97" and augmix["corrupted_ece"] == "8.0"
    assert sum(float(rows[("standard", s)]["shift_er/cifar10_1"]) for s in "123") == pytest.approx(0.0, abs=0.5)
    assert list(augmix)[-15] == "error/gaussian_noise"  # the per-corruption errors stay last


def test_one_standard_run_gives_no_fit_no_er_column_and_says_why(tmp_path: Path) -> None:
    runs = write_runs(tmp_path / "runs", (RUNS[0], RUNS[3]))
    out = tmp_path / "out"
    (out).mkdir()
    (out / "effective_robustness_cifar10_cifar10_2.png").write_bytes(b"stale")
    assert main([str(runs), f"output={out}"]) == 0
    md = (out / "report.md").read_text()
    assert "| model | method | n | clean | cifar10_1 |" in md and "cifar10_1 ER" not in md
    assert ("cifar10_1: no effective robustness: 1 standard run with a clean error and an error on cifar10_1 "
            "(a fit needs 2 with different clean errors).") in md
    assert (out / "effective_robustness_cifar10_cifar10_1.png").is_file()
    assert not (out / "effective_robustness_cifar10_cifar10_2.png").exists()  # an earlier report's figure
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["shift_er/cifar10_1"] for r in rows] == ["", ""]

    groups = group_runs(collect([runs]).runs)
    assert baseline_fit(groups, "cifar10_1") is None
    (ax,) = effective_robustness(groups, "cifar10_1").axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any(label.startswith("standard fit") for label in labels)
    assert any(label.startswith("no fit: 1 standard run") for label in labels)


def test_standard_runs_with_one_clean_error_give_no_fit(tmp_path: Path) -> None:
    runs = write_runs(tmp_path / "runs", (("standard", 1, 5.0, 13.0), ("standard", 2, 5.0, 14.0)))
    assert baseline_fit(group_runs(collect([runs]).runs), "cifar10_1") is None


def test_several_seeds_show_the_std_not_an_interval_and_older_files_show_neither(tmp_path: Path) -> None:
    write_run(tmp_path / "a", with_shifts(results(20.0, seed=1, clean=5.0), 13.0))
    write_run(tmp_path / "b", with_shifts(results(22.0, seed=2, clean=6.0), 15.0))
    write_run(tmp_path / "c", results(21.0, augmentation="augmix", seed=1, clean=4.0))  # no shifts, no intervals
    assert main([str(tmp_path), f"output={tmp_path / 'out'}"]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| wrn40_2 | standard | 2 | 5.50 ± 0.71, n=2 | 21.00 ± 1.41, n=2 | 14.00 ± 1.41, n=2 |" in md
    assert "| wrn40_2 | augmix | 1 | 4.00 | 21.00 | – |" in md
    assert "| wrn40_2 | augmix | 1 | – | – | – | – | – | – | – | – | – |" in md  # uncertainty: not recorded


def test_malformed_shift_entries_are_skipped_with_the_reason(tmp_path: Path) -> None:
    bad = with_shifts(results(20.0), 13.0)
    bad["shifts"]["cifar10_1"]["error_ci95"] = [1.0]
    write_run(tmp_path / "a", bad)
    other = with_shifts(results(20.0, seed=2), 13.0)
    other["shifts"]["cifar10_1"]["error"] = "high"
    write_run(tmp_path / "b", other)
    found = collect([tmp_path])
    assert [m.reason for m in found.malformed] == [
        "has a shifts.cifar10_1.error_ci95 that is not a list of two numbers", "has a non-numeric shifts.cifar10_1.error"]
    assert json.loads((tmp_path / "a" / "results.json").read_text())["shifts"]["cifar10_1"]["error"] == 13.0


def test_imagenet_summary_has_the_mce_and_each_shift_set(tmp_path: Path) -> None:
    entry = results(50.0, dataset="imagenet", model="resnet50", augmentation="augmix", clean=22.0, mce=66.0)
    entry["shifts"] = {"imagenet_r": {"error": 58.0, "n": 30000, "error_ci95": [57.4, 58.6]},
                       "imagenet_a": {"error": 96.1, "n": 7500, "error_ci95": [95.7, 96.5]}}
    write_run(tmp_path / "in", entry)
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| model | method | n | clean | mCE | imagenet_r | imagenet_a |" in md
    assert "| resnet50 | augmix | 1 | 22.00 | 66.00 | 58.00 [57.4, 58.6] | 96.10 [95.7, 96.5] |" in md
    assert "imagenet_a: no effective robustness: 0 standard runs with a clean error and an error on imagenet_a" in md
    assert (tmp_path / "report" / "effective_robustness_imagenet_imagenet_r.png").is_file()
