"""The command-line tools' glibc allocator settings reach child processes, and can be turned off."""

import os
import subprocess
import sys

import pytest

SCRIPT = (
    "import os; from augmix_bench.cli.allocator import keep_freed_memory; print(keep_freed_memory()); "
    "print(os.environ.get('MALLOC_TRIM_THRESHOLD_'), os.environ.get('MALLOC_MMAP_THRESHOLD_'))"
)


def run(env: dict[str, str]) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "AUGMIX_SYSTEM_MALLOC"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env={**clean, **env}, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_settings_are_applied_and_exported() -> None:
    described, exported = run({})
    assert described == "glibc mallopt M_MMAP_THRESHOLD=33554432, M_TRIM_THRESHOLD=1073741824"
    assert exported == "1073741824 33554432"


@pytest.mark.e2e
def test_opt_out_keeps_the_defaults() -> None:
    assert run({"AUGMIX_SYSTEM_MALLOC": "1"}) == ["system default", "None None"]
