"""CIFAR-10-P reading and the perturbation suite, through the library and the real augmix-eval."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from archive_server import ArchiveServer, md5, serve, tar_folder
from conftest import TINY_RUN, run_cli, write_cifar

from augmix_bench.data import (
    CIFAR_PERTURBATIONS,
    CifarBenchmark,
    SyntheticCifarBenchmark,
)
from augmix_bench.errors import UserError
from augmix_bench.evaluation.suite import Evaluator
from augmix_bench.evaluation.metrics import flip_probability, top5_distance
from augmix_bench.runtime import Runtime


def write_cifar_p(
    folder: Path, test_x: np.ndarray, count: int, frames: dict[str, int], seed: int = 0
) -> None:
    """A -P folder: each sequence starts at a test image and brightens by a random step per frame."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in CIFAR_PERTURBATIONS:
        steps = rng.integers(0, 40, size=(count, frames.get(name, 4), 1, 1, 1)).cumsum(axis=1)
        sequences = np.clip(test_x[:count, None].astype(int) + steps, 0, 255).astype(np.uint8)
        np.save(folder / f"{name}.npy", sequences)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    test_x, _ = write_cifar(tmp_path, "cifar10", n_train=20, n_test=6, seed=4)
    write_cifar_p(tmp_path / "CIFAR-10-P", test_x, count=6, frames={"translate": 3})
    return tmp_path


def test_frames_are_flattened_sequence_by_sequence(root: Path) -> None:
    sequences = np.load(root / "CIFAR-10-P" / "translate.npy")
    perturbed = CifarBenchmark(root).perturbed_set("translate")
    assert (perturbed.num_sequences, perturbed.num_frames, len(perturbed.frames)) == (6, 3, 18)
    image, label = perturbed.frames[7]
    np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), sequences[2, 1])
    assert label == -1
    assert CifarBenchmark(root).missing("perturbations") is None


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((6, 1, 32, 32, 3), np.uint8),
        ((6, 4, 32, 32), np.uint8),
        ((6, 4, 28, 28, 3), np.uint8),
        ((6, 4, 32, 32, 3), np.int16),
    ],
)
def test_wrong_sequence_shape(root: Path, shape: tuple[int, ...], dtype: type) -> None:
    path = root / "CIFAR-10-P" / "rotate.npy"
    np.save(path, np.zeros(shape, dtype=dtype))
    with pytest.raises(UserError) as info:
        CifarBenchmark(root).perturbed_set("rotate")
    assert str(info.value) == (
        f"{path}: expected uint8 sequences of shape (N, T >= 2, 32, 32, 3), found {np.dtype(dtype)} {shape}"
    )


def test_missing_perturbation_file(root: Path) -> None:
    (root / "CIFAR-10-P" / "tilt.npy").unlink()
    assert (
        CifarBenchmark(root).missing("perturbations")
        == f"CIFAR-10-P incomplete in {root / 'CIFAR-10-P'} (missing tilt.npy)"
    )
    with pytest.raises(UserError, match=f"^missing file {root / 'CIFAR-10-P' / 'tilt.npy'}$"):
        CifarBenchmark(root).perturbed_set("tilt")


def test_families_without_a_perturbation_set(tmp_path: Path) -> None:
    for benchmark in (CifarBenchmark(tmp_path, "cifar100"), SyntheticCifarBenchmark(tmp_path)):
        assert benchmark.perturbation_names() == ()
        with pytest.raises(UserError) as info:
            benchmark.prepare(["perturbations"], download=True)
        assert str(info.value) == (
            f"{benchmark.name} has no perturbation benchmark (-P); leave perturbations out of eval.suites"
        )


class BrightnessClassifier(torch.nn.Module):
    """Scores class c by -(mean pixel value / 25.6 - c - 0.5)^2: brighter images, higher classes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = ((x * 0.5 + 0.5) * 255).mean(dim=(1, 2, 3), keepdim=False)[:, None] / 25.6
        return -((level - torch.arange(10)[None, :] - 0.5) ** 2)


def expected_top5(sequences: np.ndarray) -> np.ndarray:
    level = sequences.astype(np.float64).mean(axis=(2, 3, 4))[..., None] / 25.6
    scores = -((level - np.arange(10) - 0.5) ** 2)
    return np.argsort(-scores, axis=-1, kind="stable")[..., :5]


def test_evaluator_perturbation_suite(root: Path) -> None:
    benchmark = CifarBenchmark(root)
    evaluator = Evaluator(benchmark, Runtime(device=torch.device("cpu"), progress=False), batch_size=5)
    results = evaluator.perturbations(BrightnessClassifier())
    assert list(results["per_perturbation"]) == list(CIFAR_PERTURBATIONS)
    for name, entry in results["per_perturbation"].items():
        top5 = expected_top5(np.load(root / "CIFAR-10-P" / f"{name}.npy"))
        noise = name in ("gaussian_noise", "shot_noise")
        assert entry["flip_probability"] == pytest.approx(100 * flip_probability(top5[..., 0], noise))
        assert entry["top5_distance"] == pytest.approx(top5_distance(top5, noise))
        assert (entry["sequences"], entry["frames"]) == (6, 3 if name == "translate" else 4)
    flips = [e["flip_probability"] for e in results["per_perturbation"].values()]
    assert results["mean_flip_probability"] == pytest.approx(np.mean(flips))
    assert 0 < results["mean_flip_probability"] < 100
    assert results["mfr"] is None and results["mt5d"] is None
    # noise sequences are compared with their first frame: the two pairings really differ here
    top5 = expected_top5(np.load(root / "CIFAR-10-P" / "gaussian_noise.npy"))
    assert flip_probability(top5[..., 0], True) != flip_probability(top5[..., 0], False)

    limited = Evaluator(benchmark, Runtime(device=torch.device("cpu"), progress=False), batch_size=5, limit=2)
    entry = limited.perturbation(BrightnessClassifier(), "rotate")
    top5 = expected_top5(np.load(root / "CIFAR-10-P" / "rotate.npy")[:2])
    assert entry["sequences"] == 2 and entry["flip_probability"] == pytest.approx(
        100 * flip_probability(top5[..., 0])
    )


@pytest.fixture(scope="module")
def checkpoint(cifar10_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch tiny WRN trained on the fixture CIFAR-10."""
    run_dir = tmp_path_factory.mktemp("run")
    run_cli(
        "augmix-train",
        f"dataset.root={cifar10_root}",
        f"hydra.run.dir={run_dir}",
        *TINY_RUN,
        "eval.suites=[clean]",
        cwd=run_dir,
    )
    return run_dir / "checkpoints" / "last.pt"


@pytest.fixture()
def server() -> Iterator[ArchiveServer]:
    with serve() as running:
        yield running


def eval_root(cifar10_root: Path, tmp_path: Path) -> Path:
    """A data root with the fixture's clean and -C folders (linked) and no -P yet."""
    root = tmp_path / "data"
    root.mkdir()
    for folder in ("cifar-10-batches-py", "CIFAR-10-C"):
        os.symlink(cifar10_root / folder, root / folder)
    return root


@pytest.mark.e2e
def test_augmix_eval_fills_corruptions_and_perturbations(
    checkpoint: Path, cifar10_root: Path, server: ArchiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    test_x = np.load(cifar10_root / "CIFAR-10-C" / "fog.npy")[:100]
    write_cifar_p(source / "CIFAR-10-P", test_x, count=8, frames={"translate": 3, "motion_blur": 5})
    archive = tar_folder(source / "CIFAR-10-P", "CIFAR-10-P")
    root = eval_root(cifar10_root, tmp_path)
    output = tmp_path / "results.json"
    run_cli(
        "augmix-eval",
        f"checkpoint={checkpoint}",
        f"dataset.root={root}",
        "dataset.download=true",
        f"+dataset.perturbations_url={server.add('CIFAR-10-P.tar', archive)}",
        f"+dataset.perturbations_md5={md5(archive)}",
        "eval.suites=[clean,corruptions,perturbations]",
        "trainer.progress=false",
        f"output={output}",
        cwd=tmp_path,
    )
    results = json.loads(output.read_text())
    corruptions = results["corruptions"]
    assert len(corruptions["per_corruption"]) == 15
    assert corruptions["mce"] is None and corruptions["relative_mce"] is None
    assert all(entry["ce"] is None for entry in corruptions["per_corruption"].values())
    means = [entry["mean_error"] for entry in corruptions["per_corruption"].values()]
    assert corruptions["mean_error"] == pytest.approx(np.mean(means))
    assert 0 <= corruptions["rms_calibration_error"] <= 100
    perturbations = results["perturbations"]
    assert list(perturbations["per_perturbation"]) == list(CIFAR_PERTURBATIONS)
    frames = {name: entry["frames"] for name, entry in perturbations["per_perturbation"].items()}
    assert frames == {name: {"translate": 3, "motion_blur": 5}.get(name, 4) for name in CIFAR_PERTURBATIONS}
    assert all(entry["sequences"] == 8 for entry in perturbations["per_perturbation"].values())
    flips = [entry["flip_probability"] for entry in perturbations["per_perturbation"].values()]
    assert perturbations["mean_flip_probability"] == pytest.approx(np.mean(flips))
    distances = [entry["top5_distance"] for entry in perturbations["per_perturbation"].values()]
    assert perturbations["mean_top5_distance"] == pytest.approx(np.mean(distances))
    assert (root / "CIFAR-10-P" / "rotate.npy").is_file()  # downloaded because dataset.download=true


@pytest.mark.e2e
def test_augmix_eval_reports_a_corrupt_sequence_file_in_one_line(
    checkpoint: Path, cifar10_root: Path, tmp_path: Path
) -> None:
    root = eval_root(cifar10_root, tmp_path)
    write_cifar_p(root / "CIFAR-10-P", np.zeros((2, 32, 32, 3), dtype=np.uint8), count=2, frames={})
    np.save(root / "CIFAR-10-P" / "rotate.npy", np.zeros((2, 4, 32, 32), dtype=np.uint8))
    result = run_cli(
        "augmix-eval",
        f"checkpoint={checkpoint}",
        f"dataset.root={root}",
        "eval.suites=[perturbations]",
        "trainer.progress=false",
        f"output={tmp_path / 'out.json'}",
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"augmix-eval: error: {root / 'CIFAR-10-P' / 'rotate.npy'}: expected uint8 sequences of shape "
        "(N, T >= 2, 32, 32, 3), found uint8 (2, 4, 32, 32)\n"
    )
    assert not (tmp_path / "out.json").exists()
