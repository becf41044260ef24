"""Download failures that a retry cannot fix end at once, in one line that promises no resume
that cannot happen; transient ones are retried after growing pauses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from archive_server import ArchiveServer, serve
from conftest import run_in_process

from augmix_bench.data.download import fetch
from augmix_bench.errors import UserError


@pytest.fixture()
def server() -> Iterator[ArchiveServer]:
    with serve() as running:
        yield running


def test_unknown_scheme_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        fetch("foo://mirror/blob.bin", tmp_path / "blob.bin", progress=False, retries=3, backoff=60)
    assert str(info.value) == "download of foo://mirror/blob.bin failed: unknown url type: foo"
    assert list(tmp_path.iterdir()) == []


def test_a_host_name_that_does_not_resolve_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real lookup of a name under .invalid (reserved: it never resolves, RFC 6761) through the
    command line: not retried (retries would pause 1, 2 and 4 s and the line would say "after 4
    attempts"), one line that names no .part file, and the folders the download made are gone again."""
    monkeypatch.chdir(tmp_path)
    url = "http://cifar.invalid/cifar-10-python.tar.gz"
    result = run_in_process("augmix-download", "dataset.root=data", f"dataset.url={url}", "parts=[clean]", "progress=false")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    prefix = f"augmix-download: error: download of {url} failed: the host name does not resolve ("
    assert result.stderr.startswith(prefix) and result.stderr.endswith(")\n") and ".part" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_refused_connection_is_retried_then_names_no_missing_part(tmp_path: Path) -> None:
    with serve() as gone:
        url = gone.url("blob.bin")
    with pytest.raises(UserError) as info:
        fetch(url, tmp_path / "blob.bin", progress=False, retries=1, backoff=0.01)
    assert str(info.value) == f"download of {url} failed after 2 attempts: Connection refused"
    assert list(tmp_path.iterdir()) == []


def test_retries_wait_twice_as_long_each_time(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The pauses double from ``backoff`` (the command line's 1, 2, 4 s, here scaled by 1/100)."""
    with serve() as gone:
        url = gone.url("blob.bin")
    with caplog.at_level("WARNING", logger="augmix_bench.data.download"), pytest.raises(UserError) as info:
        fetch(url, tmp_path / "blob.bin", progress=False, retries=3, backoff=0.01)
    pauses = [m.split("retrying in ")[1].split(" s")[0] for m in caplog.messages if "retrying in" in m]
    assert pauses == ["0.01", "0.02", "0.04"]
    assert str(info.value) == f"download of {url} failed after 4 attempts: Connection refused"


@pytest.mark.e2e
def test_a_full_disk_fails_at_once_naming_the_part_file(server: ArchiveServer, tmp_path: Path) -> None:
    """A real write error (the file-size limit) is not retried; the .part it names exists."""
    url = server.add("blob.bin", np.random.default_rng(0).bytes(300_000))
    target = tmp_path / "blob.bin"
    script = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
from pathlib import Path
from augmix_bench.data.download import fetch
from augmix_bench.errors import UserError
try:
    fetch(sys.argv[1], Path(sys.argv[2]), progress=False, retries=3, backoff=60)
except UserError as exc:
    print(exc)
"""
    result = subprocess.run([sys.executable, "-c", script, url, str(target)], capture_output=True, text=True, check=True)
    part = tmp_path / "blob.bin.part"
    assert result.stdout == f"download of {url} failed: {part}: File too large\n"
    assert part.exists() and server.state.requests == [("blob.bin", None)]
