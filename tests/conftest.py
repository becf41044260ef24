"""Shared fixtures: small datasets written here, in the real on-disk formats, independently of the
project's own writers (so the loaders are tested against files they did not produce)."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

CORRUPTION_NAMES = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
    "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
    "jpeg_compression",
)

torch.set_num_threads(1)


def learnable_images(count: int, num_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is a colour and a stripe direction: learnable in an epoch or two."""
    labels = rng.integers(0, num_classes, size=count)
    base = rng.normal(110, 30, size=(count, 32, 32, 3))
    rows = np.arange(32)[:, None]
    cols = np.arange(32)[None, :]
    for i, label in enumerate(labels):
        colour = np.array([(label * 67) % 256, (label * 139) % 256, (label * 31) % 256])
        stripes = ((rows if label % 2 else cols) // 4) % 2
        base[i] += (stripes[..., None] * 0.6 + 0.4) * (colour - 110) * 0.8
    return np.clip(base, 0, 255).astype(np.uint8), labels.astype(np.int64)


def write_cifar_pickle(path: Path, images: np.ndarray, labels: np.ndarray, label_key: bytes) -> None:
    """One CIFAR batch file as the original Python 2 pickles store it (bytes keys)."""
    entry = {
        b"batch_label": b"fixture",
        label_key: labels.tolist(),
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1).copy(),
        b"filenames": [b"img_%d.png" % i for i in range(len(images))],
    }
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def write_cifar(root: Path, variant: str, n_train: int, n_test: int, seed: int = 0, train_files: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A small CIFAR-10 / CIFAR-100 folder; returns the test images and labels."""
    rng = np.random.default_rng(seed)
    num_classes = 10 if variant == "cifar10" else 100
    folder = root / ("cifar-10-batches-py" if variant == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True, exist_ok=True)
    label_key = b"labels" if variant == "cifar10" else b"fine_labels"
    train_x, train_y = learnable_images(n_train, num_classes, rng)
    test_x, test_y = learnable_images(n_test, num_classes, rng)
    if variant == "cifar10":
        for b, (x, y) in enumerate(zip(np.array_split(train_x, train_files), np.array_split(train_y, train_files)), 1):
            write_cifar_pickle(folder / f"data_batch_{b}", x, y, label_key)
        write_cifar_pickle(folder / "test_batch", test_x, test_y, label_key)
    else:
        write_cifar_pickle(folder / "train", train_x, train_y, label_key)
        write_cifar_pickle(folder / "test", test_x, test_y, label_key)
    return test_x, test_y


def write_cifar_c(folder: Path, test_x: np.ndarray, test_y: np.ndarray, seed: int = 0) -> None:
    """A -C folder: each corruption is Gaussian noise of a per-corruption strength growing with severity."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "labels.npy", np.tile(test_y, 5).astype(np.uint8))
    for c, name in enumerate(CORRUPTION_NAMES):
        blocks = [
            np.clip(test_x + rng.normal(0, 4 * s * (1 + c % 4), size=test_x.shape), 0, 255).astype(np.uint8)
            for s in range(1, 6)
        ]
        np.save(folder / f"{name}.npy", np.concatenate(blocks))


@pytest.fixture(scope="session")
def cifar10_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with a tiny CIFAR-10 (400 train, 100 test images) and CIFAR-10-C."""
    root = tmp_path_factory.mktemp("data")
    test_x, test_y = write_cifar(root, "cifar10", n_train=400, n_test=100)
    write_cifar_c(root / "CIFAR-10-C", test_x, test_y)
    return root


@pytest.fixture(scope="session")
def frost_cache(tmp_path_factory: pytest.TempPathFactory):
    """``$AUGMIX_CACHE`` for the rest of the session (subprocesses included): a temporary folder whose
    ``frost/`` holds copies of the original frost textures (found offline: tests/frost_sources.py).
    Yields that ``frost/`` folder; the user's own cache is never written."""
    import shutil

    from frost_sources import MISSING, candidate_folders, real_frost_folder

    source = real_frost_folder()
    if source is None:
        pytest.fail(MISSING.format(folders=", ".join(map(str, candidate_folders()))), pytrace=False)
    cache = tmp_path_factory.mktemp("augmix-cache")
    shutil.copytree(source, cache / "frost", ignore=lambda folder, names: [n for n in names if not n.startswith("frost")])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUGMIX_CACHE", str(cache))
        yield cache / "frost"


#: The test being set up or run (pytest_runtest_setup), for run_cli's tier check.
CURRENT_TEST: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember the test whose fixtures and body run next."""
    CURRENT_TEST[:] = [item]


def run_cli(program: str, *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run an installed console script (``augmix-train``...) with the test interpreter's environment.

    Only tests marked ``e2e`` may start a console script (the fast tier, ``-m "not e2e and not
    signals"``, must not); refusals, ``--help`` and ``--cfg job`` belong in ``run_in_process``.
    """
    if CURRENT_TEST and CURRENT_TEST[0].get_closest_marker("e2e") is None:
        raise AssertionError(f"{CURRENT_TEST[0].nodeid} starts {program}: mark it @pytest.mark.e2e or use run_in_process")
    executable = Path(sys.executable).with_name(program)
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    result = subprocess.run([str(executable), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_in_process(program: str, *args: str) -> subprocess.CompletedProcess:
    """Run a console script's entry point in this process (for config-only checks: ``--help``,
    ``--cfg job``, refusals before any work), capturing its output and exit status."""
    from augmix_bench import cli

    entry = {
        "augmix-train": cli.train_main,
        "augmix-eval": cli.eval_main,
        "augmix-download": cli.download_main,
        "augmix-corrupt": cli.corrupt_main,
    }
    saved_argv, saved_hook = sys.argv, sys.unraisablehook
    saved_handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    sys.argv = [program, *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            entry[program]()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv, sys.unraisablehook = saved_argv, saved_hook
        for number, handler in saved_handlers.items():  # augmix-train installs its Ctrl-C handler
            signal.signal(number, handler)
    return subprocess.CompletedProcess([program, *args], code, out.getvalue(), err.getvalue())


#: Overrides that make a training run small enough for the test suite.
TINY_RUN = (
    "model.depth=10",
    "model.widen_factor=1",
    "trainer.epochs=1",
    "trainer.batch_size=32",
    "trainer.eval_batch_size=200",
    "trainer.num_workers=0",
    "trainer.accelerator=cpu",
    "trainer.progress=false",
)


#: Variables that make a process believe it is a rank of a distributed job.
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture(autouse=True)
def no_launcher_variables_leak():
    """A test that leaves rank variables in the environment would turn every later run into a rank."""
    before = {name: os.environ.get(name) for name in LAUNCHER_VARIABLES}
    yield
    after = {name: os.environ.get(name) for name in LAUNCHER_VARIABLES}
    assert after == before, f"the test changed the launcher variables: {before} -> {after}"


@pytest.fixture(autouse=True)
def no_stop_request_leaks():
    """A stop flag left set by one test would stop every later in-process run at its first batch."""
    from augmix_bench.console import stop_requested

    yield
    assert not stop_requested.is_set(), "the test left a Ctrl-C/SIGTERM stop request set"
