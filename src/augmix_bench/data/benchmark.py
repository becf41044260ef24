"""The interface every dataset family implements: clean splits plus robustness test sets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path

from torch.utils.data import Dataset

from ..augment.views import SpatialTransform
from ..errors import UserError
from .names import CORRUPTIONS

#: The parts of a benchmark that can be required and downloaded.
PARTS: tuple[str, ...] = ("clean", "corruptions", "perturbations")


class Benchmark(ABC):
    """A dataset family: clean train/test splits and its -C (and -P) test sets.

    ``train_set`` yields (PIL image, label); ``test_set`` and ``corrupted_set`` yield
    (uint8 tensor (3, H, W), label), normalized later on the device with ``mean``/``std``.
    """

    name: str
    num_classes: int
    image_size: int
    mean: Sequence[float]
    std: Sequence[float]
    root: Path

    @abstractmethod
    def train_set(self) -> Dataset:
        """The clean training split as (PIL image, label)."""

    @abstractmethod
    def test_set(self) -> Dataset:
        """The clean test split as (uint8 tensor, label)."""

    @abstractmethod
    def train_spatial(self) -> SpatialTransform:
        """The standard flip/crop of training images, drawn from a passed generator."""

    @abstractmethod
    def corrupted_set(self, corruption: str, severity: int) -> Dataset:
        """Test images under ``corruption`` at ``severity`` (1-5) as (uint8 tensor, label)."""

    @abstractmethod
    def missing(self, part: str) -> str | None:
        """None if ``part`` is on disk, else a one-line description of what is missing and where."""

    def download(self, part: str) -> None:
        """Fetch ``part`` into ``root``; families without a source raise a ``UserError``."""
        raise UserError(f"dataset {self.name!r} cannot download {part!r}: {self.missing(part)}")

    def corruption_names(self) -> tuple[str, ...]:
        """The corruptions evaluated for the mean corruption error."""
        return CORRUPTIONS

    def prepare(self, parts: Iterable[str], download: bool) -> None:
        """Make sure every part in ``parts`` is on disk, downloading it when ``download`` is true.

        Raises a ``UserError`` naming the folder looked in and how to get the data otherwise.
        """
        for part in parts:
            if part not in PARTS:
                raise UserError(f"unknown dataset part {part!r}; choose from: {', '.join(PARTS)}")
            problem = self.missing(part)
            if problem is None:
                continue
            if not download:
                raise UserError(
                    f"{problem}; run with dataset.download=true, or point dataset.root "
                    f"(env AUGMIX_DATA) at the folder that holds it"
                )
            self.download(part)
            problem = self.missing(part)
            if problem is not None:
                raise UserError(f"download of {self.name} {part} finished but {problem}")
