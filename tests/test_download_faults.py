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


def test_refused_connection_is_retried_then_names_no_missing_part(tmp_path: Path) -> None:
    with serve() as gone:
        url = gone.url("blob.bin")
    with pytest.raises(UserError) as info:
        fetch(url, tmp_path / "blob.bin", progress=False, retries=1, backoff=0.01)
    assert str(info.value) == f"download of {url} failed after 2 attempts: Connection refused"
    assert list(tmp_path.iterdir()) == []


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
