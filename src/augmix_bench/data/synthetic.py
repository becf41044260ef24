"""A small synthetic dataset in the CIFAR-10 / CIFAR-10-C on-disk formats, for the offline demo.

The images are a coloured square (the class is its colour) and a smaller distracting square of any
colour on a noisy background: learnable in a few epochs on a CPU, but not trivially. The -C folder holds crude stand-ins for the 15 corruptions (noise, blur, weather-like
overlays, digital distortions) at 5 severities: enough to exercise the whole pipeline, not a benchmark.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from ..files import atomic_directory, naming_os_errors
from .benchmark import Benchmark
from .cifar import CORRUPTED_FOLDERS, CifarBenchmark
from .cifar_pickles import cifar_folder
from .names import CORRUPTIONS, SEVERITIES

log = logging.getLogger(__name__)

#: One RGB colour per class.
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
    ],
    dtype=np.float32,
)


def synthetic_images(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (N, 32, 32, 3) uint8 and balanced labels (N,) of the demo task."""
    labels = np.arange(count) % len(PALETTE)
    rng.shuffle(labels)
    images = rng.normal(60, 25, size=(count, 32, 32, 3))
    for i, label in enumerate(labels):
        # A distracting small square of any colour, then the class's larger square.
        for colour, low, high in ((PALETTE[rng.integers(len(PALETTE))], 5, 9), (PALETTE[label], 9, 17)):
            side = int(rng.integers(low, high))
            top, left = rng.integers(0, 33 - side, size=2)
            shade = colour * rng.uniform(0.55, 1.0) + rng.normal(0, 30, size=(side, side, 3))
            images[i, top : top + side, left : left + side] = shade
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


def _write_cifar_pickle(path: Path, images: np.ndarray, labels: np.ndarray, batch: str) -> None:
    entry = {
        b"batch_label": batch.encode(),
        b"labels": [int(x) for x in labels],
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
        b"filenames": [f"synthetic_{i:05d}.png".encode() for i in range(len(images))],
    }
    with naming_os_errors(path), open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=2)


def _per_image(fn: Callable[[Image.Image, float], Image.Image]) -> Callable:
    def apply(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
        return np.stack([np.asarray(fn(Image.fromarray(img), amount)) for img in x.astype(np.uint8)]).astype(np.float32)

    return apply


def _jpeg(img: Image.Image, quality: float) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=int(quality))
    return Image.open(buffer).convert("RGB")


def _pixelate(img: Image.Image, side: float) -> Image.Image:
    return img.resize((int(side), int(side)), Image.BOX).resize((32, 32), Image.BOX)


def _smooth_field(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    coarse = rng.uniform(0, 1, size=(shape[0], 4, 4)).astype(np.float32)
    return np.stack([np.asarray(Image.fromarray(c).resize((32, 32), Image.BICUBIC)) for c in coarse])[..., None]


# name -> (function(images float32 0-255, amount, rng) -> images, five amounts)
_STAND_INS: dict[str, tuple[Callable, tuple[float, ...]]] = {
    "gaussian_noise": (lambda x, a, r: x + r.normal(0, a, x.shape), (10, 15, 20, 23, 26)),
    "shot_noise": (lambda x, a, r: r.poisson(x / 255 * a) / a * 255, (500, 250, 100, 75, 50)),
    "impulse_noise": (
        lambda x, a, r: np.where(r.uniform(size=x.shape) < a, r.integers(0, 2, x.shape) * 255.0, x),
        (0.01, 0.02, 0.03, 0.05, 0.07),
    ),
    "defocus_blur": (_per_image(lambda im, a: im.filter(ImageFilter.BoxBlur(a))), (0.4, 0.6, 0.8, 1.0, 1.5)),
    "glass_blur": (_per_image(lambda im, a: im.filter(ImageFilter.GaussianBlur(a)).rotate(a * 4)), (0.4, 0.6, 0.8, 1.0, 1.2)),
    "motion_blur": (_per_image(lambda im, a: im.filter(ImageFilter.BoxBlur(a)).filter(ImageFilter.SMOOTH)), (0.5, 0.8, 1.0, 1.3, 1.6)),
    "zoom_blur": (_per_image(lambda im, a: im.resize((int(32 * a),) * 2).crop((0, 0, 32, 32))), (1.06, 1.11, 1.15, 1.2, 1.25)),
    "snow": (lambda x, a, r: np.maximum(x, (r.uniform(size=x.shape[:3] + (1,)) < a) * 255.0), (0.02, 0.04, 0.06, 0.08, 0.1)),
    "frost": (lambda x, a, r: (1 - a) * x + a * 255 * _smooth_field(x.shape, r), (0.2, 0.3, 0.4, 0.45, 0.5)),
    "fog": (lambda x, a, r: x + a * 255 * _smooth_field(x.shape, r), (0.2, 0.4, 0.6, 0.8, 1.0)),
    "brightness": (lambda x, a, r: x + a * 255, (0.05, 0.1, 0.15, 0.2, 0.3)),
    "contrast": (lambda x, a, r: (x - x.mean(axis=(1, 2), keepdims=True)) * a + x.mean(axis=(1, 2), keepdims=True), (0.75, 0.5, 0.4, 0.3, 0.15)),
    "elastic_transform": (_per_image(lambda im, a: im.transform((32, 32), Image.AFFINE, (1, a, -a * 8, -a, 1, a * 8), Image.BILINEAR)), (0.05, 0.1, 0.15, 0.2, 0.25)),
    "pixelate": (_per_image(_pixelate), (30, 28, 27, 24, 20)),
    "jpeg_compression": (_per_image(_jpeg), (80, 65, 58, 50, 40)),
}


def corrupt_stand_in(images: np.ndarray, corruption: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """The demo's crude stand-in for ``corruption`` at ``severity`` (uint8 in, uint8 out)."""
    fn, amounts = _STAND_INS[corruption]
    out = fn(images.astype(np.float32), amounts[severity - 1], rng)
    return np.clip(out, 0, 255).astype(np.uint8)


class SyntheticCifarBenchmark(CifarBenchmark):
    """The demo dataset: CIFAR-10 format under ``<root>``; ``download`` generates it (no network)."""

    def __init__(
        self,
        root: str | Path,
        name: str = "synthetic",
        train_size: int = 5000,
        test_size: int = 1000,
        seed: int = 0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        crop_padding: int = 4,
        corruptions_bar_dir: str | Path | None = None,
    ) -> None:
        super().__init__(root, "cifar10", name, mean, std, crop_padding, corruptions_bar_dir=corruptions_bar_dir)
        self.train_size = int(train_size)
        self.test_size = int(test_size)
        self.seed = int(seed)

    def perturbation_names(self) -> tuple[str, ...]:
        """None: the demo has no -P set."""
        return ()

    def released_archives(self, part: str) -> list:
        """None: the demo generates its stand-in -C set instead of downloading one."""
        return []

    def can_download(self, part: str) -> bool:
        """The clean and -C parts are generated."""
        return part in ("clean", "corruptions")

    def download(self, part: str, progress: bool = True) -> None:
        """Generate the clean pickles or the stand-in -C arrays (deterministic for ``seed``)."""
        if part in ("clean", "corruptions"):
            folder = cifar_folder(self.root, self.variant) if part == "clean" else self.corrupted_folder
            log.info("generating the synthetic demo data (%s) in %s", part, folder.absolute())
        if part == "clean":
            with atomic_directory(cifar_folder(self.root, self.variant)) as tmp:
                rng = np.random.default_rng((self.seed, 0))
                train_x, train_y = synthetic_images(self.train_size, rng)
                for b, (x, y) in enumerate(zip(np.array_split(train_x, 5), np.array_split(train_y, 5)), 1):
                    _write_cifar_pickle(tmp / f"data_batch_{b}", x, y, f"training batch {b} of 5")
                test_x, test_y = synthetic_images(self.test_size, rng)
                _write_cifar_pickle(tmp / "test_batch", test_x, test_y, "testing batch 1 of 1")
            return
        if part == "corruptions":
            self.prepare(["clean"], download=True)
            test_x, test_y = self._test
            with atomic_directory(self.root / CORRUPTED_FOLDERS[self.variant]) as tmp:
                with naming_os_errors(tmp / "labels.npy"):
                    np.save(tmp / "labels.npy", np.tile(test_y, len(SEVERITIES)).astype(np.uint8))
                for c, corruption in enumerate(CORRUPTIONS):
                    rng = np.random.default_rng((self.seed, 1, c))
                    blocks = [corrupt_stand_in(test_x, corruption, s, rng) for s in SEVERITIES]
                    with naming_os_errors(tmp / f"{corruption}.npy"):
                        np.save(tmp / f"{corruption}.npy", np.concatenate(blocks))
            return
        Benchmark.download(self, part, progress)
