"""The device-side training pipelines (trainer.data_pipeline=gpu and hybrid) on CPU tensors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import TINY_RUN, run_cli
from omegaconf import OmegaConf
from torch.utils.data import DistributedSampler

from augmix_bench.augment import BatchedAugMix, RandomCropFlip, StandardViews
from augmix_bench.augment.augmix import Normalize, to_normalized_tensor
from augmix_bench.augment.tensor_views import PixelSamples, TensorCropFlip, TensorViews
from augmix_bench.commands.build import (
    build_training_plan_from_config as build_training_plan,
)
from augmix_bench.data import CifarBenchmark
from augmix_bench.data.arrays import ArrayImageDataset
from augmix_bench.errors import UserError
from augmix_bench.runtime import Runtime
from augmix_bench.training.batches import (
    LoaderBatches,
    build_training_batches,
    resolve_data_pipeline,
)
from augmix_bench.training.device_batches import DeviceArrayBatches

CPU = torch.device("cpu")
CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "augmentation"


def random_images(count: int, side: int = 32, seed: int = 0) -> np.ndarray:
    """(count, side, side, 3) uint8 noise: every crop position and flip gives a different image."""
    return np.random.default_rng(seed).integers(0, 256, size=(count, side, side, 3), dtype=np.uint8)


def chw(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def test_crop_flip_takes_a_padded_crop_mirrored_half_the_time() -> None:
    images = random_images(200)
    out = TensorCropFlip(32, 4)(chw(images), torch.Generator().manual_seed(0))
    assert out.shape == (200, 3, 32, 32) and out.dtype == torch.uint8
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    flips, offsets = [], set()
    for i in range(200):
        got = out[i].permute(1, 2, 0).numpy()
        sources = {False: padded[i], True: padded[i, :, ::-1]}
        matches = [
            (flip, top, left)
            for flip, source in sources.items()
            for top in range(9)
            for left in range(9)
            if np.array_equal(got, source[top : top + 32, left : left + 32])
        ]
        assert len(matches) == 1, i
        flips.append(matches[0][0])
        offsets.add(matches[0][1:])
    assert 70 < sum(flips) < 130
    assert len(offsets) > 60


def test_views_match_the_pil_datasets_structure_and_clean_view() -> None:
    images = random_images(6, seed=1)
    batch = chw(images)
    generator = torch.Generator().manual_seed(1)
    clean = torch.stack([to_normalized_tensor(img, (0.5,) * 3, (0.5,) * 3) for img in images])
    standard = TensorViews((0.5,) * 3, (0.5,) * 3)(batch, generator)
    assert torch.equal(standard, clean)
    augmix = BatchedAugMix()
    views = TensorViews((0.5,) * 3, (0.5,) * 3, augmix, jsd=True)(batch, generator)
    assert isinstance(views, tuple) and len(views) == 3
    assert torch.equal(views[0], clean)
    assert views[1].shape == views[2].shape == clean.shape and not torch.equal(views[1], views[2])
    single = TensorViews((0.5,) * 3, (0.5,) * 3, augmix, jsd=False)(batch, generator)
    assert isinstance(single, torch.Tensor) and single.shape == clean.shape


def device_batches(
    images: np.ndarray, labels: np.ndarray, rank: int = 0, world_size: int = 1, batches_per_call: int = 16
) -> DeviceArrayBatches:
    views = TensorViews((0.5,) * 3, (0.5,) * 3, BatchedAugMix(), jsd=True)
    return DeviceArrayBatches(
        images, labels, views, TensorCropFlip(32, 4), 16, 7, CPU, rank, world_size, batches_per_call
    )


def collect(source: DeviceArrayBatches, epoch: int) -> list:
    source.set_epoch(epoch)
    return list(source)


def test_gpu_pipeline_order_shards_and_exact_resume() -> None:
    images, labels = random_images(100, seed=2), np.arange(100)
    source = device_batches(images, labels, batches_per_call=2)
    assert len(source) == 7
    epoch1 = collect(source, 1)
    sampler = DistributedSampler(range(100), num_replicas=1, rank=0, shuffle=True, seed=7)
    sampler.set_epoch(1)
    assert torch.cat([targets for _, targets in epoch1]).tolist() == list(sampler)
    assert [targets.shape[0] for _, targets in epoch1] == [16] * 6 + [4]
    for (clean, aug1, aug2), targets in epoch1:
        assert clean.shape == aug1.shape == aug2.shape == (targets.shape[0], 3, 32, 32)
    # A fresh pipeline (a resumed run) repeats epoch 1 exactly; another epoch differs.
    resumed = collect(device_batches(images, labels, batches_per_call=2), 1)
    for (views, targets), (again, targets_again) in zip(epoch1, resumed, strict=True):
        assert torch.equal(targets, targets_again)
        assert all(torch.equal(a, b) for a, b in zip(views, again, strict=True))
    # Each rank of a 2-process job takes its own half of the same permutation.
    shards = [torch.cat([t for _, t in collect(device_batches(images, labels, r, 2), 1)]) for r in (0, 1)]
    assert sorted(torch.cat(shards).tolist()) == list(range(100))
    # Epochs and ranks draw their own augmentations (seen on one image repeated).
    same = np.repeat(images[:1], 100, axis=0)
    first_aug = {
        (epoch, rank): collect(device_batches(same, labels, rank, 2), epoch)[0][0][1]
        for epoch, rank in ((1, 0), (2, 0), (1, 1))
    }
    assert not torch.equal(first_aug[1, 0], first_aug[2, 0])
    assert not torch.equal(first_aug[1, 0], first_aug[1, 1])


def test_gpu_pipeline_clean_view_is_a_crop_of_the_indexed_image() -> None:
    images, labels = random_images(40, seed=3), np.arange(40)
    (clean, _, _), targets = next(iter(collect(device_batches(images, labels), 0)))
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    for view, index in zip(clean, targets.tolist(), strict=True):
        pixels = np.rint(view.permute(1, 2, 0).numpy() * 127.5 + 127.5).astype(np.uint8)
        candidates = (padded[index], padded[index, :, ::-1])
        assert any(
            np.array_equal(pixels, c[top : top + 32, left : left + 32])
            for c in candidates
            for top in range(9)
            for left in range(9)
        )


def runtime() -> Runtime:
    return Runtime(device=CPU, num_workers=0, progress=False)


def test_augmentation_on_device_after_the_loader_crops() -> None:
    images = random_images(24, seed=4)
    dataset = ArrayImageDataset(images, np.arange(24))
    augmix = BatchedAugMix()
    samples = PixelSamples(dataset, RandomCropFlip(32, 4), seed=3)
    source = LoaderBatches(samples, 8, 3, runtime(), TensorViews((0.5,) * 3, (0.5,) * 3, augmix, jsd=False))
    source.set_epoch(0)
    batches = list(source)
    assert len(batches) == len(source) == 3
    assert all(inputs.shape == (8, 3, 32, 32) and inputs.dtype == torch.float32 for inputs, _ in batches)
    # Workers still do the flip/crop, from the per-sample streams of the PIL path.
    standard = StandardViews(dataset, Normalize((0.5,) * 3, (0.5,) * 3), RandomCropFlip(32, 4), seed=3)
    for index in torch.cat([t for _, t in batches]).tolist()[:4]:
        pixels = samples[index][0].permute(1, 2, 0).numpy()
        assert torch.equal(to_normalized_tensor(pixels, (0.5,) * 3, (0.5,) * 3), standard[index][0])


def test_pipeline_choice_and_bad_values(cifar10_root: Path) -> None:
    benchmark = CifarBenchmark(cifar10_root)
    augmix = build_training_plan(OmegaConf.load(CONFIGS / "augmix.yaml"), benchmark, seed=1)
    assert resolve_data_pipeline("auto", CPU, benchmark, augmix) == "cpu"
    assert resolve_data_pipeline("auto", torch.device("cuda"), benchmark, augmix) == "gpu"
    assert resolve_data_pipeline("gpu", CPU, benchmark, augmix) == "gpu"
    for name in ("standard", "mixup", "cutmix", "adversarial"):  # one clean view; the objective does the rest
        plan = build_training_plan(OmegaConf.load(CONFIGS / f"{name}.yaml"), benchmark, seed=1)
        assert resolve_data_pipeline("auto", torch.device("cuda"), benchmark, plan) == "gpu"
    for name in ("cutout", "autoaugment"):  # sample-level PIL/tensor transforms: no device twin
        plan = build_training_plan(OmegaConf.load(CONFIGS / f"{name}.yaml"), benchmark, seed=1)
        assert resolve_data_pipeline("auto", torch.device("cuda"), benchmark, plan) == "cpu"
        for choice in ("gpu", "hybrid"):
            with pytest.raises(UserError, match=f"data_pipeline={choice} needs an augmentation with a tensor"):
                resolve_data_pipeline(choice, CPU, benchmark, plan)
    with pytest.raises(UserError, match="data_pipeline='tpu' is invalid; choose from: auto, cpu, hybrid, gpu"):
        resolve_data_pipeline("tpu", CPU, benchmark, augmix)
    assert resolve_data_pipeline("hybrid", CPU, benchmark, augmix) == "hybrid"
    source = build_training_batches(augmix, benchmark, runtime(), "hybrid", 32, 1)
    assert isinstance(source, LoaderBatches) and source.device_views is augmix.tensor_views
    assert isinstance(source.dataset, PixelSamples)
    assert build_training_batches(augmix, benchmark, runtime(), "cpu", 32, 1).device_views is None
    assert isinstance(build_training_batches(augmix, benchmark, runtime(), "gpu", 32, 1), DeviceArrayBatches)


@pytest.mark.e2e
def test_cli_trains_with_the_gpu_pipeline_on_cpu(cifar10_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    overrides = ("eval.suites=[clean]", "trainer.data_pipeline=gpu")
    data = (f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}")
    run_cli("augmix-train", *data, *TINY_RUN, *overrides, cwd=tmp_path)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["clean"]["n"] == 100 and results["corruptions"] is None
    rows = list(csv.DictReader((run_dir / "train_log.csv").open()))
    assert len(rows) == 1 and float(rows[0]["images_per_second"]) > 0
    assert 0 <= float(rows[0]["train_error"]) <= 100
    assert "data pipeline: gpu (trainer.data_pipeline=gpu)" in (run_dir / "train.log").read_text()
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["trainer"]["data_pipeline"] == "gpu" and "device" not in config["augmentation"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run pytest -m gpu on one)")
def test_gpu_pipeline_on_cuda_repeats_an_epoch() -> None:
    images, labels = random_images(100, seed=5), np.arange(100)
    views = TensorViews((0.5,) * 3, (0.5,) * 3, BatchedAugMix(), jsd=True)
    cuda = torch.device("cuda")

    def epoch() -> list:
        source = DeviceArrayBatches(images, labels, views, TensorCropFlip(32, 4), 16, 7, cuda)
        source.set_epoch(3)
        return list(source)

    first, again = epoch(), epoch()
    assert all(v.device.type == "cuda" for (inputs, _) in first for v in inputs)
    for (views_a, targets_a), (views_b, targets_b) in zip(first, again, strict=True):
        assert torch.equal(targets_a, targets_b)
        assert all(torch.equal(a, b) for a, b in zip(views_a, views_b, strict=True))
