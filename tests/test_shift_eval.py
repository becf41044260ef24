"""The ``shifts`` suite and the uncertainty metrics through the real entry points: ``augmix-eval``
on CIFAR-10.1 / CIFAR-10.2 written in their released formats, the Python API on ImageNet-R/-A
folders (200-class restriction), ``augmix-download parts=[shifts]`` on loopback, and the refusals.

Expected values are computed here from the logits the test models produce, with NumPy (NLL, Brier)
and torchmetrics (ECE) as independent implementations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from archive_server import serve
from conftest import TINY_RUN, run_in_process, write_cifar
from PIL import Image
from torchmetrics.classification import MulticlassCalibrationError

from augmix_bench.api import evaluate
from augmix_bench.data.imagenet_wnids import IMAGENET_WNIDS
from augmix_bench.data.shifts import (
    IMAGENET_A_CLASS_INDICES,
    IMAGENET_A_WNIDS,
    IMAGENET_R_CLASS_INDICES,
    IMAGENET_R_WNIDS,
    SHIFT_SETS,
)

#: results.json keeps 6 significant digits.
ROUNDED = 1e-5


class PixelLogits(torch.nn.Module):
    """Logit ``c`` is ``scale`` x the normalized red value of pixel (0, c): each test image spells
    out its own logits (CIFAR normalization maps pixel ``p`` to ``2 p / 255 - 1``)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.scale = torch.nn.Parameter(torch.tensor(4.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, : self.num_classes] * self.scale


class FixedLogits(torch.nn.Module):
    """The same logits ``base`` for every image (ImageNet: 1000 classes)."""

    def __init__(self, base: np.ndarray) -> None:
        super().__init__()
        self.base = torch.nn.Parameter(torch.as_tensor(base, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base.expand(x.shape[0], -1) + 0 * x[:, :1, 0, 0]


def pixel_logits(images: np.ndarray) -> np.ndarray:
    """What ``PixelLogits`` computes for uint8 images (N, 32, 32, 3), in float64."""
    return 4.0 * (2.0 * images[:, 0, :10, 0].astype(np.float64) / 255.0 - 1.0)


def expected_metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Error, NLL, Brier and ECE (torchmetrics, 15 bins) of ``logits`` against ``labels``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    onehot = np.eye(logits.shape[1])[labels]
    ece = MulticlassCalibrationError(num_classes=logits.shape[1], n_bins=15, norm="l1")
    return {
        "error": 100.0 * float(np.mean(probs.argmax(axis=1) != labels)),
        "nll": float(np.mean(-np.log(probs[np.arange(len(labels)), labels]))),
        "brier": float(np.mean(((probs - onehot) ** 2).sum(axis=1))),
        "ece": 100.0 * float(ece(torch.as_tensor(probs, dtype=torch.float32), torch.as_tensor(labels))),
        "n": len(labels),
    }


def assert_entry(entry: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert entry[key] == pytest.approx(value, rel=ROUNDED, abs=1e-9), key


def cifar10_1_images(count: int, wrong: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images whose first ten red pixels are distinct values (a unique argmax); labels equal
    the argmax except for the last ``wrong`` images (the next class)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    for i in range(count):
        images[i, 0, :10, 0] = rng.permutation(256)[:10]
    labels = images[:, 0, :10, 0].argmax(axis=1).astype(np.int32)
    labels[count - wrong:] = (labels[count - wrong:] + 1) % 10
    return images, labels


@pytest.fixture()
def shift_root(tmp_path: Path) -> dict:
    """CIFAR-10 (30 test images), CIFAR-10.1 v6 (20 images, 5 wrong) and a CIFAR-10.2 that is a byte
    copy of the clean test set, in their released formats; and a state_dict of ``PixelLogits``."""
    root = tmp_path / "data"
    test_x, test_y = write_cifar(root, "cifar10", n_train=10, n_test=30, seed=3)
    images, labels = cifar10_1_images(20, wrong=5, seed=4)
    (root / "CIFAR-10.1").mkdir()
    np.save(root / "CIFAR-10.1" / "cifar10.1_v6_data.npy", images)
    np.save(root / "CIFAR-10.1" / "cifar10.1_v6_labels.npy", labels)
    (root / "CIFAR-10.2").mkdir()
    np.savez(root / "CIFAR-10.2" / "cifar102_test.npz", images=test_x, labels=test_y.astype(np.int64))
    weights = tmp_path / "pixel.pth"
    torch.save(PixelLogits().state_dict(), weights)
    return {"root": root, "weights": weights, "test": (test_x, test_y), "cifar10_1": (images, labels)}


def eval_args(setup: dict, output: Path, *extra: str) -> list[str]:
    return [
        f"checkpoint={setup['weights']}", "checkpoint_format=state_dict", "model=custom",
        "model._target_=test_shift_eval.PixelLogits", "dataset=cifar10", f"dataset.root={setup['root']}",
        "trainer.accelerator=cpu", "trainer.num_workers=0", "trainer.progress=false", f"output={output}", *extra,
    ]


def test_augmix_eval_reports_shift_sets_and_uncertainty(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "eval.json"
    result = run_in_process("augmix-eval", *eval_args(shift_root, out, "eval.suites=[clean,shifts]"))
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    assert list(results["shifts"]) == ["cifar10_1", "cifar10_2"]  # the default: v6 and CIFAR-10.2
    images, labels = shift_root["cifar10_1"]
    expected = expected_metrics(pixel_logits(images), labels.astype(np.int64))
    assert expected["error"] == 25.0  # 5 of 20 wrong, by construction
    assert_entry(results["shifts"]["cifar10_1"], expected)
    test_x, test_y = shift_root["test"]
    assert_entry(results["clean"], expected_metrics(pixel_logits(test_x), test_y))
    # a shift set that is a byte copy of the clean test set gives exactly the clean numbers
    keys = ("error", "n", "rms_calibration_error", "nll", "brier", "ece")
    assert {k: results["shifts"]["cifar10_2"][k] for k in keys} == {k: results["clean"][k] for k in keys}
    assert results["config"]["eval"]["shifts"] is None and results["corruptions"] is None


def test_eval_shifts_chooses_sets_and_limit_caps_them(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "eval.json"
    result = run_in_process(
        "augmix-eval", *eval_args(shift_root, out, "eval.suites=[shifts]", "eval.shifts=[cifar10_1]", "eval.limit=8")
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    assert list(results["shifts"]) == ["cifar10_1"] and results["clean"] is None
    images, labels = shift_root["cifar10_1"]
    assert_entry(results["shifts"]["cifar10_1"], expected_metrics(pixel_logits(images[:8]), labels[:8].astype(np.int64)))


def test_pooled_corruptions_carry_nll_brier_and_ece(tmp_path: Path) -> None:
    from conftest import write_cifar_c

    from augmix_bench.data.names import CORRUPTIONS, SEVERITIES

    root = tmp_path / "data"
    test_x, test_y = write_cifar(root, "cifar10", n_train=10, n_test=4, seed=6)
    write_cifar_c(root / "CIFAR-10-C", test_x, test_y, seed=6)
    results = evaluate(PixelLogits(), "cifar10", root=root, suites=["corruptions"], device="cpu", progress=False)
    pooled = np.concatenate([np.load(root / "CIFAR-10-C" / f"{c}.npy") for c in CORRUPTIONS])
    labels = np.tile(test_y, len(CORRUPTIONS) * len(SEVERITIES))
    expected = expected_metrics(pixel_logits(pooled), labels)
    for key in ("nll", "brier", "ece"):
        assert results["corruptions"][key] == pytest.approx(expected[key], rel=1e-6), key  # float32 logits


def write_jpeg(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(path, format="JPEG")


def test_api_restricts_imagenet_r_and_a_to_their_200_classes(tmp_path: Path) -> None:
    """Every image gets the same logits: the largest is tench (class 0, in neither subset), so an
    unrestricted argmax is always wrong; restricted, the best of the 200 wins."""
    for wnid in IMAGENET_WNIDS:  # the model's 1000 classes: the clean val folders' names
        (tmp_path / "imagenet" / "val" / wnid).mkdir(parents=True)
    r_best, r_next = IMAGENET_R_WNIDS[5], IMAGENET_R_WNIDS[7]
    a_best = IMAGENET_A_WNIDS[3]
    base = np.zeros(1000)
    base[0] = 20.0
    base[IMAGENET_WNIDS.index(r_best)] = 3.0
    base[IMAGENET_WNIDS.index(r_next)] = 2.5
    base[IMAGENET_WNIDS.index(a_best)] = 4.0
    for index, wnid in enumerate([r_best, r_best, r_next]):
        write_jpeg(tmp_path / "imagenet-r" / wnid / f"art_{index}.jpg", (10 * index, 50, 90))
    for index, wnid in enumerate([a_best, IMAGENET_A_WNIDS[0], IMAGENET_A_WNIDS[0]]):
        write_jpeg(tmp_path / "imagenet-a" / wnid / f"{index}.jpg", (5, 5, 5))
    results = evaluate(
        FixedLogits(base), "imagenet", root=tmp_path, suites=["shifts"], shifts=["imagenet_r", "imagenet_a"],
        device="cpu", progress=False,
    )
    assert list(results["shifts"]) == ["imagenet_r", "imagenet_a"] and results["clean"] is None
    r_labels = np.array([IMAGENET_R_WNIDS.index(w) for w in (r_best, r_best, r_next)])
    r_expected = expected_metrics(np.tile(base[list(IMAGENET_R_CLASS_INDICES)], (3, 1)), r_labels)
    assert r_expected["error"] == pytest.approx(100 / 3)  # position 5 predicted: the r_next image is wrong
    assert_entry(results["shifts"]["imagenet_r"], r_expected)
    a_labels = np.array([0, 0, 3])  # folders in sorted order: IMAGENET_A_WNIDS[0] twice, then a_best
    a_expected = expected_metrics(np.tile(base[list(IMAGENET_A_CLASS_INDICES)], (3, 1)), a_labels)
    assert a_expected["error"] == pytest.approx(200 / 3)  # a_best predicted
    assert_entry(results["shifts"]["imagenet_a"], a_expected)


def test_api_scores_imagenet_v2_and_sketch_on_all_1000_classes(tmp_path: Path) -> None:
    """ImageNet-V2 folders are class indices, Sketch folders wnids; both keep all 1000 logits, so
    tench (class 0, the largest logit) is predicted for every image."""
    for wnid in IMAGENET_WNIDS:
        (tmp_path / "imagenet" / "val" / wnid).mkdir(parents=True)
    base = np.zeros(1000)
    base[0], base[1] = 5.0, 4.0
    v2 = tmp_path / "imagenetv2-matched-frequency-format-val"
    for folder, count in (("0", 1), ("1", 2), ("10", 1)):
        for index in range(count):
            write_jpeg(v2 / folder / f"{index}.jpeg", (index, 9, 9))
    write_jpeg(tmp_path / "sketch" / IMAGENET_WNIDS[0] / "sketch_0.JPEG", (255, 255, 255))
    write_jpeg(tmp_path / "sketch" / IMAGENET_WNIDS[999] / "sketch_1.JPEG", (0, 0, 0))
    results = evaluate(FixedLogits(base), "imagenet", root=tmp_path, suites=["shifts"],
                       shifts=["imagenet_v2", "imagenet_sketch"], device="cpu", progress=False)
    # ImageNet-V2's folders sort as 0, 1, 10: labels 0, 1, 1, 10
    assert_entry(results["shifts"]["imagenet_v2"], expected_metrics(np.tile(base, (4, 1)), np.array([0, 1, 1, 10])))
    assert_entry(results["shifts"]["imagenet_sketch"], expected_metrics(np.tile(base, (2, 1)), np.array([0, 999])))


def git_blob_sha1(data: bytes) -> str:
    return "git-blob-sha1:" + hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def npy_bytes(array: np.ndarray, path: Path) -> bytes:
    np.save(path, array)
    return path.read_bytes()


def test_download_fetches_verifies_and_places_cifar10_1_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, labels = cifar10_1_images(6, wrong=1, seed=9)
    files = {
        "cifar10.1_v6_data.npy": npy_bytes(images, tmp_path / "d.npy"),
        "cifar10.1_v6_labels.npy": npy_bytes(labels, tmp_path / "l.npy"),
    }
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data"
    with serve() as server:
        urls = {name: server.add(f"datasets/{name}", data) for name, data in files.items()}
        spec = dataclasses.replace(
            SHIFT_SETS["cifar10_1"], downloads=urls, checksums={n: git_blob_sha1(d) for n, d in files.items()}
        )
        monkeypatch.setitem(SHIFT_SETS, "cifar10_1", spec)
        result = run_in_process(
            "augmix-download", "dataset=cifar10", f"dataset.root={root}", "parts=[shifts]", "shifts=[cifar10_1]",
            "progress=false",
        )
        assert result.returncode == 0, result.stderr
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
            "CIFAR-10.1", "CIFAR-10.1/cifar10.1_v6_data.npy", "CIFAR-10.1/cifar10.1_v6_labels.npy",
        ]
        np.testing.assert_array_equal(np.load(root / "CIFAR-10.1" / "cifar10.1_v6_data.npy"), images)
        # a file whose bytes differ from the recorded checksum is deleted; the set is not placed
        bad_root = tmp_path / "bad"
        wrong = dict(spec.checksums)
        wrong["cifar10.1_v6_labels.npy"] = "git-blob-sha1:" + "0" * 40
        monkeypatch.setitem(SHIFT_SETS, "cifar10_1", dataclasses.replace(spec, checksums=wrong))
        refused = run_in_process(
            "augmix-download", "dataset=cifar10", f"dataset.root={bad_root}", "parts=[shifts]", "shifts=[cifar10_1]",
            "progress=false",
        )
    assert refused.returncode == 2
    assert refused.stderr == (
        f"augmix-download: error: checksum did not match for {urls['cifar10.1_v6_labels.npy']}: expected "
        f"git-blob-sha1:{'0' * 40}, found {git_blob_sha1(files['cifar10.1_v6_labels.npy'])}; the download was deleted\n"
    )
    assert sorted(str(p.relative_to(bad_root)) for p in bad_root.rglob("*")) == [
        "downloads", "downloads/cifar10.1_v6_data.npy",  # verified, kept for the next run; never placed
    ]


def test_recorded_cifar_checksums_are_the_authors_git_blob_ids() -> None:
    """The CIFAR sets download from raw.githubusercontent.com at the commit whose tree lists the
    recorded blob ids (git ls-tree of modestyachts/CIFAR-10.1 and modestyachts/cifar-10.2)."""
    v6 = SHIFT_SETS["cifar10_1"]
    assert v6.downloads == {
        "cifar10.1_v6_data.npy": "https://raw.githubusercontent.com/modestyachts/CIFAR-10.1/"
        "d9982abb0bfc4846b8d13a11e66b887d946205d0/datasets/cifar10.1_v6_data.npy",
        "cifar10.1_v6_labels.npy": "https://raw.githubusercontent.com/modestyachts/CIFAR-10.1/"
        "d9982abb0bfc4846b8d13a11e66b887d946205d0/datasets/cifar10.1_v6_labels.npy",
    }
    assert set(SHIFT_SETS["cifar10_2"].downloads or {}) == {"cifar102_test.npz"}
    for name in ("imagenet_v2", "imagenet_r", "imagenet_a", "imagenet_sketch"):
        assert SHIFT_SETS[name].downloads is None  # no checksum published by the authors: placed by hand


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (["eval.suites=[clean,shifts]", "eval.shifts=[imagenet_r]"],
         "eval.shifts has 'imagenet_r', not a shift set of cifar10; accepted: cifar10_1, cifar10_2, cifar10_1_v4"),
        (["eval.suites=[shifts]", "eval.shifts=[cifar10_1,cifar10_1]"],
         ("eval.shifts=['cifar10_1', 'cifar10_1'] is invalid; accepted: null or a non-empty list of distinct "
          "shift-set names (null: all of the dataset's)")),
        (["eval.suites=[shifts]", "dataset=cifar100"],
         ("dataset 'cifar100' has no natural-shift test sets (they exist for: cifar10, imagenet); "
          "leave shifts out of eval.suites")),
    ],
)
def test_bad_shift_choices_are_refused_before_any_work(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "eval.json"
    result = run_in_process("augmix-eval", *eval_args(shift_root, out, *extra))
    assert (result.returncode, result.stderr) == (2, f"augmix-eval: error: {line}\n")
    assert not out.exists()


def test_a_missing_shift_set_names_its_path_and_how_to_get_it(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root, out = shift_root["root"], tmp_path / "eval.json"
    result = run_in_process("augmix-eval", *eval_args(shift_root, out, "eval.suites=[clean,shifts]",
                                                      "eval.shifts=[cifar10_1,cifar10_1_v4]"))
    assert (result.returncode, result.stderr) == (2, (
        f"augmix-eval: error: CIFAR-10.1 (v4) not found at {root / 'CIFAR-10.1' / 'cifar10.1_v4_data.npy'}; "
        f"run augmix-download dataset=cifar10 parts=[shifts] shifts=[cifar10_1_v4] dataset.root={root} "
        "(or dataset.download=true), or place it by hand (docs/benchmarks.md, natural distribution shifts)\n"
    ))
    assert not out.exists()
    manual = run_in_process("augmix-download", "dataset=imagenet", f"dataset.root={tmp_path / 'in'}",
                            "parts=[shifts]", "shifts=[imagenet_r]", "progress=false")
    assert (manual.returncode, manual.stderr) == (2, (
        f"augmix-download: error: ImageNet-R not found at {tmp_path / 'in' / 'imagenet-r'}; ImageNet-R has no "
        f"download with a published checksum; place it by hand as {tmp_path / 'in' / 'imagenet-r'} (<wnid>/*.jpg, "
        "200 class folders) from https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar "
        "(docs/benchmarks.md, natural distribution shifts)\n"
    ))
    assert not (tmp_path / "in").exists()


def test_augmix_eval_reproduces_a_training_runs_shift_numbers(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    trained = run_in_process("augmix-train", f"dataset.root={shift_root['root']}", *TINY_RUN,
                             "eval.suites=[clean,shifts]", "eval.shifts=[cifar10_2,cifar10_1]", f"hydra.run.dir={run}")
    assert trained.returncode == 0, trained.stderr
    during = json.loads((run / "results.json").read_text())
    assert list(during["shifts"]) == ["cifar10_2", "cifar10_1"] and during["shifts"]["cifar10_1"]["n"] == 20
    out = tmp_path / "again.json"
    again = run_in_process("augmix-eval", f"checkpoint={run / 'checkpoints' / 'last.pt'}", f"output={out}")
    assert again.returncode == 0, again.stderr
    assert json.loads(out.read_text())["shifts"] == during["shifts"]
