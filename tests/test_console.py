"""Progress at the console: a live bar on a terminal, and on a redirected stderr plain lines (no
carriage returns) at most every ``LINE_INTERVAL`` seconds, each state once and the final one last,
none for a loop that ends sooner."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import TINY_RUN, run_in_process
from tqdm import tqdm

from augmix_bench import console


def test_a_redirected_stderr_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "LINE_INTERVAL", 0.0)
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    for _ in console.progress_bar(range(4), desc="epoch 2/9", leave=False):
        pass
    download = console.progress_bar(total=None, desc="blob.bin", unit="B")
    download.update(3)
    download.close()
    lines = stream.getvalue().split("\n")
    assert "\r" not in stream.getvalue() and lines[-1] == ""
    assert lines[0] == "epoch 2/9: 0% 0/4 [00:00<?, ?it/s]"
    assert re.fullmatch(r"epoch 2/9: 75% 3/4 \[00:00<00:00, [0-9.]+it/s\]", lines[3]), lines
    assert [line.split(" [")[0] for line in lines[:-1]] == [
        *(f"epoch 2/9: {25 * n}% {n}/4" for n in range(5)), "blob.bin: 0B", "blob.bin: 3B"
    ]


def test_a_loop_shorter_than_the_interval_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    for _ in console.progress_bar(range(1000), desc="eval"):
        pass
    assert console.LINE_INTERVAL == 60.0 and stream.getvalue() == ""


@pytest.mark.e2e
def test_a_terminal_gets_a_live_bar() -> None:
    controller, terminal = pty.openpty()
    termios.tcsetwinsize(terminal, (24, 80))  # a new pseudo-terminal is 0 columns wide
    script = "from augmix_bench.console import progress_bar\nfor _ in progress_bar(range(3), desc='bar'): pass\n"
    subprocess.run([sys.executable, "-c", script], stderr=terminal, check=True)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    drawn = drawn.decode()
    assert "\rbar: 100%|" in drawn, repr(drawn)


def test_training_with_a_redirected_stderr_prints_epoch_progress_lines(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """400 images in batches of 32: 13 batches, a line at the start and after each (interval 0 here)."""
    monkeypatch.setattr(console, "LINE_INTERVAL", 0.0)
    args = [a for a in TINY_RUN if a != "trainer.progress=false"]
    result = run_in_process(
        "augmix-train", f"dataset.root={cifar10_root}", *args, "trainer.progress=true", "eval.suites=[clean]",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0 and "\r" not in result.stderr
    epoch_lines = [line for line in result.stderr.splitlines() if line.startswith("epoch 1/1: ")]
    assert [line.split(" [")[0] for line in epoch_lines] == [
        f"epoch 1/1: {round(100 * n / 13)}% {n}/13" for n in range(14)
    ]


def test_a_redirected_file_gets_each_state_once_and_the_final_one_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr is a real file. tqdm's monitor thread redraws a bar idle for ``maxinterval`` (10 s; 0.1 s
    here, checked every 0.02 s): it used to repeat the last line between two lines, and a loop's
    bar (``leave=False``) never wrote its 100%."""
    monkeypatch.setattr(console, "LINE_INTERVAL", 0.15)
    monkeypatch.setattr(tqdm, "monitor_interval", 0.02)
    for bar_class in {tqdm, getattr(console, "_LineBar", tqdm)}:
        monkeypatch.setattr(bar_class, "monitor", None, raising=False)
    with open(tmp_path / "stderr.log", "w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        for _ in console.progress_bar(range(30), desc="epoch 1/3", leave=False, maxinterval=0.1):
            time.sleep(0.02)
        bar = console.progress_bar(total=30, desc="corruptions", maxinterval=0.1)
        for _ in range(30):
            time.sleep(0.02)
            bar.update(1)
        bar.close()
    for bar_class in {tqdm, getattr(console, "_LineBar", tqdm)}:
        if bar_class.__dict__.get("monitor") is not None:
            bar_class.monitor.exit()  # the thread this test started
    lines = (tmp_path / "stderr.log").read_text(encoding="utf-8").splitlines()
    for desc in ("epoch 1/3", "corruptions"):
        states = [line.split(" [")[0] for line in lines if line.startswith(f"{desc}: ")]
        assert len(states) >= 3 and len(set(states)) == len(states), lines
        assert states[-1] == f"{desc}: 100% 30/30", lines
