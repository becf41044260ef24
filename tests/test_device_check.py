"""scripts/device_check.sh: its syntax, its arguments, and a subset of its dry run on the CPU."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "device_check.sh"


def run_check(*args: str, out: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # augmix-train, augmix-eval
    if out is not None:
        env["OUT"] = str(out)
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.e2e
def test_the_script_parses() -> None:
    assert shutil.which("bash")
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [(("--fast",), "unknown argument '--fast'"), (("--dry-run", "--stages", "data,warp"), "unknown stage 'warp'")],
)
def test_bad_arguments_fail_in_one_line(args: tuple[str, ...], message: str) -> None:
    done = run_check(*args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and "accepted:" in done.stderr


@pytest.mark.e2e
def test_dry_run_trains_on_generated_data_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    committed = ROOT / "results" / "benchmarks" / "device_check.json"
    before = committed.read_bytes() if committed.exists() else None
    done = run_check("--dry-run", "--stages", "data,train_gpu", out=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "device_check.json").read_text())
    assert [stage["stage"] for stage in report["stages"]] == ["data", "train_gpu"]
    assert all(stage["status"] == 0 and stage["seconds"] > 0 for stage in report["stages"])
    assert "training samples/s over 1 epoch(s)" in report["figures"]["train_gpu"]
    assert report["check_command"] == "scripts/device_check.sh --dry-run --stages data,train_gpu"
    assert report["machine"]["cpu_cores"] and report["date"]
    assert (out / "device_check.md").read_text().startswith("# Device check")
    assert (out / "logs" / "train_gpu.log").is_file()
    assert (committed.read_bytes() if committed.exists() else None) == before  # a dry run never writes there
