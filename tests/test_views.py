"""Training views: reproducible per-sample randomness, distinct worker streams, a shared flip/crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from reference_augmix import structured_image
from torch.utils.data import DataLoader, Dataset

from augmix_bench.augment import (
    AugMix,
    AugMixViews,
    Normalize,
    RandomCropFlip,
    StandardViews,
    sample_rng,
)

PREPROCESS = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


class _Images(Dataset):
    """(PIL image, label) pairs: ``count`` different images, or one image repeated."""

    def __init__(self, count: int, repeated: bool = False) -> None:
        self.images = [structured_image(32, seed=0 if repeated else i) for i in range(count)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        return self.images[index], index % 10


def _views(seed: int | None, count: int = 8, repeated: bool = False, jsd: bool = True) -> AugMixViews:
    return AugMixViews(
        _Images(count, repeated), PREPROCESS, AugMix(), jsd=jsd, spatial=RandomCropFlip(32, 4), seed=seed
    )


def _flat(sample: tuple) -> torch.Tensor:
    views, _ = sample
    return torch.stack(views) if isinstance(views, tuple) else views


def test_a_seeded_dataset_gives_identical_views_twice() -> None:
    first, second = _views(seed=5), _views(seed=5)
    for index in range(len(first)):
        a = _flat(first[index])
        assert torch.equal(a, _flat(first[index]))
        assert torch.equal(a, _flat(second[index]))
        assert first[index][1] == second[index][1] == index % 10


def test_epochs_indices_and_seeds_draw_anew() -> None:
    views = _views(seed=5, repeated=True)
    epoch0 = [_flat(views[i]) for i in range(4)]
    views.set_epoch(1)
    epoch1 = [_flat(views[i]) for i in range(4)]
    other_seed = [_flat(_views(seed=6, repeated=True)[i]) for i in range(4)]
    everything = epoch0 + epoch1 + other_seed
    assert all(
        not torch.equal(everything[i][1], everything[j][1]) for i in range(12) for j in range(i + 1, 12)
    )


def test_views_are_clean_and_two_independent_augmix_draws() -> None:
    (clean, aug1, aug2), label = _views(seed=1)[3]
    assert clean.shape == aug1.shape == aug2.shape == (3, 32, 32)
    assert clean.dtype == aug1.dtype == torch.float32
    assert not torch.equal(aug1, aug2) and not torch.equal(clean, aug1)
    single, _ = _views(seed=1, jsd=False)[3]
    assert isinstance(single, torch.Tensor) and single.shape == (3, 32, 32)


@pytest.mark.parametrize("seed", [7, None])
def test_two_workers_over_one_repeated_image_give_all_different_views(seed: int | None) -> None:
    views = _views(seed=seed, count=24, repeated=True)
    batches = list(DataLoader(views, batch_size=4, num_workers=2))
    stacked = torch.cat([torch.stack(v, dim=1) for v, _ in batches])  # (24, 3 views, C, H, W)
    assert stacked.shape[0] == 24
    augmented = stacked[:, 1:].flatten(0, 1).flatten(1)
    assert len({tuple(row.tolist()) for row in augmented}) == 48
    if seed is not None:
        in_process = torch.stack([torch.stack(views[i][0]) for i in range(24)])
        assert torch.equal(stacked, in_process)


def _unaugmented_view(img: Image.Image, rng: np.random.Generator) -> torch.Tensor:
    return PREPROCESS(img)


def test_the_clean_and_augmix_views_share_the_flip_and_crop() -> None:
    """With a view maker that only normalizes, all three views are the same flipped/cropped image."""
    dataset = _Images(16)
    views = AugMixViews(dataset, PREPROCESS, _unaugmented_view, spatial=RandomCropFlip(32, 4), seed=3)
    moved = 0
    for index in range(len(views)):
        (clean, aug1, aug2), _ = views[index]
        assert torch.equal(clean, aug1) and torch.equal(clean, aug2)
        moved += not torch.equal(clean, PREPROCESS(dataset[index][0]))
    assert moved >= 12


def test_crop_flip_draws_from_the_sample_generator() -> None:
    img = structured_image(32, seed=4)
    crop = RandomCropFlip(32, 4)
    a = np.asarray(crop(img, sample_rng(1, 0, 5)))
    assert np.array_equal(a, np.asarray(crop(img, sample_rng(1, 0, 5))))
    padded = np.zeros((40, 40, 3), dtype=np.uint8)
    padded[4:36, 4:36] = np.asarray(img)
    candidates = [padded[top : top + 32, left : left + 32] for top in range(9) for left in range(9)]
    candidates += [c[:, ::-1] for c in list(candidates)]
    assert any(np.array_equal(a, c) for c in candidates)


def test_standard_views_apply_image_then_tensor_augmentations_in_order() -> None:
    calls: list[str] = []

    def image_augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        calls.append("image")
        assert isinstance(img, Image.Image)
        return Image.fromarray(np.full((32, 32, 3), 255, dtype=np.uint8))

    def tensor_augment(view: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        calls.append("tensor")
        return view * 0.5

    views = StandardViews(_Images(2), PREPROCESS, RandomCropFlip(32, 4), 1, image_augment, tensor_augment)
    view, label = views[1]
    assert calls == ["image", "tensor"] and label == 1
    assert torch.equal(view, torch.full((3, 32, 32), 0.5))
