"""Refusals, ``--help``, ``--cfg job`` and reading runs import neither torch nor torchvision.

Each case runs the console script's entry point in a fresh interpreter (this process has imported
torch already) and then lists which heavy modules it loaded. A wrong layering (validation importing
``data/`` and through it torchvision, a ``_target_`` loaded before the static checks, a report
reading JSON through torch) puts torch in that list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the entry point, then prints the heavy modules it imported (as JSON) on the last line.
PROBE = """
import json, sys
from augmix_bench import cli
sys.argv = [sys.argv[1], *sys.argv[3:]]
try:
    getattr(cli, {entry!r})()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(name for name in ("torch", "torchvision", "scipy", "cv2") if name in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def probe(entry: str, program: str, *args: str, cwd: Path) -> dict:
    """Run ``entry`` (a function of ``augmix_bench.cli``) as ``program args`` in a new interpreter."""
    code = PROBE.format(entry=entry)
    result = subprocess.run(
        [sys.executable, "-c", code, program, "-", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]) | {"stderr": result.stderr}


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("entry", "program", "args", "code"),
    [
        ("train_main", "augmix-train", ("trainer.epochs=abc",), 2),
        ("train_main", "augmix-train", ("experiment=demo", "augmentation.severity=0.05"), 2),
        ("train_main", "augmix-train", ("optim.lr=-1",), 2),
        ("train_main", "augmix-train", ("model=nope",), 2),
        ("train_main", "augmix-train", ("-m", "trainer.batch_size=32,0,16"), 2),  # every job's static checks first
        ("train_main", "augmix-train", ("--help",), 0),
        ("train_main", "augmix-train", ("--cfg", "job"), 0),
        ("eval_main", "augmix-eval", ("checkpoint=missing.pt", "eval.suites=[clean,nope]"), 2),
        ("download_main", "augmix-download", ("dataset=nope",), 2),
        ("corrupt_main", "augmix-corrupt", ("dataset=cifar10", "corrupt.severities=[0]"), 2),
    ],
)
def test_config_only_paths_import_no_torch(entry: str, program: str, args: tuple[str, ...], code: int, tmp_path: Path) -> None:
    found = probe(entry, program, *args, cwd=tmp_path)
    assert found["code"] == code, found["stderr"]
    assert found["heavy"] == []
    if code == 2:
        lines = found["stderr"].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), found["stderr"]
    assert list(tmp_path.iterdir()) == []  # nothing written: no outputs/, no run folder


@pytest.mark.e2e
def test_the_report_reads_runs_without_torch(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    results = {
        "dataset": "cifar10", "model": "wrn40_2", "augmentation": "augmix", "seed": 1, "epochs": 100,
        "clean": {"error": 5.0, "rms_calibration_error": 3.0, "error_ci95": [4.5, 5.5]},
        "shifts": {"cifar10_1": {"error": 11.0, "n": 2000, "nll": 0.4, "brier": 0.2, "ece": 3.0}},
    }
    (run / "results.json").write_text(json.dumps(results))
    found = probe("report_main", "augmix-report", str(run), f"output={tmp_path / 'report'}", cwd=tmp_path)
    assert found["code"] in (0, None), found["stderr"]
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| wrn40_2 | – (11.2) |" in md
    assert "| wrn40_2 | augmix | 1 | 5.00 [4.5, 5.5] | 11.00 |" in md  # the shifts table (no standard run: no fit)
    assert (tmp_path / "report" / "effective_robustness_cifar10_cifar10_1.png").is_file()
    assert found["heavy"] == []
