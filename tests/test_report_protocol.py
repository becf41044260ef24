"""augmix-report and results.json's ``protocol``: printed once per table, rows that differ marked,
never averaged together (hand-written run folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_report import results, write_run

from augmix_bench.commands.report import main
from augmix_bench.data.names import CORRUPTIONS
from augmix_bench.report.aggregate import group_runs
from augmix_bench.report.collect import collect


def protocol(limit: int | None = None, source: str = "released", seed: int | None = None) -> dict[str, Any]:
    """A CIFAR-10 protocol entry: ``limit`` of 10,000 test images, the -C set from ``source``."""
    corruptions: dict[str, Any] = {"source": source, "folder": "/data/CIFAR-10-C", "fingerprint": None,
                                   "headline": list(CORRUPTIONS)}
    if source == "generated":
        corruptions.update(fingerprint="c0ffee00c0ffee00", seed=seed, tool="augmix-corrupt", version="0.1.0")
    return {"normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}, "image_size": 32,
            "eval_transform": "none: the stored arrays, as they are", "corrupted_transform": None,
            "eval_limit": limit, "test_images": 10000, "sets": {"corruptions": corruptions},
            "alexnet_normalization": None}


def run(mean_error: float, run_seed: int, augmentation: str = "standard", **kwargs: Any) -> dict[str, Any]:
    """A results.json of ``results`` with the protocol ``protocol(**kwargs)``."""
    entry = results(mean_error, seed=run_seed, augmentation=augmentation)
    entry["protocol"] = protocol(**kwargs)
    entry["config"]["eval"] = {"suites": ["clean", "corruptions"], "limit": kwargs.get("limit")}
    return entry


def test_rows_of_another_protocol_are_marked_and_never_averaged(tmp_path: Path) -> None:
    write_run(tmp_path / "a", run(26.0, 1))
    write_run(tmp_path / "b", run(28.0, 2))
    write_run(tmp_path / "c", run(40.0, 3, limit=1000))  # same cell, another protocol
    write_run(tmp_path / "d", run(12.0, 1, augmentation="augmix", limit=1000))  # alone in its cell
    write_run(tmp_path / "e", run(14.0, 2, augmentation="augmix", source="generated", seed=0))
    write_run(tmp_path / "f", run(13.0, 3, augmentation="augmix"))
    groups = group_runs(collect([tmp_path]).runs)
    assert [(g.augmentation, g.recipe_label, g.seeds, g.stat("mean_corruption_error").mean) for g in groups] == [
        ("standard", "", [1, 2], 27.0),
        ("standard", "first 1,000 of 10,000 test images", [3], 40.0),
        ("augmix", "", [3], 13.0),
        ("augmix", "regenerated -C, seed 0 (c0ffee00)", [2], 14.0),
        ("augmix", "first 1,000 of 10,000 test images", [1], 12.0),
    ]
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    note = ("*Protocol: images: all 10,000 test images; normalization: mean (0.5, 0.5, 0.5), std (0.5, 0.5, 0.5); "
            "image size: 32 px; eval transform: none: the stored arrays, as they are; -C: released -C. Rows marked "
            "[...] differ from it: first 1,000 of 10,000 test images; regenerated -C, seed 0 (c0ffee00) "
            "(never averaged with the others).*")
    assert md.count(note) == md.count("### cifar10")  # once per table
    lines = md.splitlines()
    main_table = lines[lines.index("### cifar10: mean corruption error (%)") :]
    assert main_table[4:7] == [
        "| wrn40_2 | 27.00 ± 1.41, n=2 (26.9) | 13.00 (11.2) |",
        "| wrn40_2 [first 1,000 of 10,000 test images] | 40.00 (26.9) | 12.00 (11.2) |",
        "| wrn40_2 [regenerated -C, seed 0 (c0ffee00)] | – (26.9) | 14.00 (11.2) |",
    ]


def test_older_results_without_a_protocol_keep_their_recipe_labels(tmp_path: Path) -> None:
    older = results(20.0, seed=1, suites=["clean", "corruptions"])
    older["config"]["eval"]["limit"] = 1000
    write_run(tmp_path / "a", older)
    full = results(22.0, seed=2, suites=["clean", "corruptions"])
    full["config"]["eval"]["limit"] = None
    write_run(tmp_path / "b", full)
    groups = group_runs(collect([tmp_path]).runs)
    assert [(g.recipe_label, g.seeds, g.marks) for g in groups] == [("eval.limit=1000", [1], ()),
                                                                   ("eval.limit=null", [2], ())]
    assert main([str(tmp_path)]) == 0
    assert "Protocol:" not in (tmp_path / "report" / "report.md").read_text()


def test_cbar_errors_get_their_own_table(tmp_path: Path) -> None:
    for seed, shift in ((1, 0.0), (2, 2.0)):
        entry = run(26.0, seed)
        entry["corruptions_bar"] = {
            "mean_error": 31.0 + shift,
            "per_corruption": {"ripple": {"errors": [30.0] * 5, "mean_error": 30.0 + shift},
                               "lines": {"errors": [32.0] * 5, "mean_error": 32.0 + shift}},
        }
        write_run(tmp_path / str(seed), entry)
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "report" / "report.md").read_text().splitlines()
    start = md.index("### cifar10: -C-bar error (%), mean over the corruptions and per corruption")
    assert md[start + 2 : start + 5] == [
        "| model | method | n | mean | ripple | lines |", "|---|---|---|---|---|---|",
        "| wrn40_2 | standard | 2 | 32.00 ± 1.41, n=2 | 31.00 | 33.00 |",
    ]
