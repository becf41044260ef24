"""The interface every dataset family implements: clean splits plus robustness test sets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..errors import UserError
from ..schema import DEFAULT_SHIFTS, SHIFTS, SUITES
from .imagenet_wnids import IMAGENET_WNIDS
from .names import CORRUPTIONS
from .shift_download import install_shift_set, manual_placement
from .shifts import SHIFT_SETS, load_shift_set, missing_path, subset_indices
from .spatial import SpatialTransform

#: The parts of a benchmark that can be required and downloaded.
#: The parts of a benchmark's data (the evaluation suites' sets).
PARTS: tuple[str, ...] = SUITES


@dataclass(frozen=True)
class PerturbedSequences:
    """The frames of one perturbation's sequences, flattened sequence by sequence.

    ``frames`` yields (uint8 tensor (3, H, W), label) for frame ``i % num_frames`` of sequence
    ``i // num_frames`` (label -1 where the release has none: only predictions matter for the
    flip metrics), so the ordinary prediction loop runs over it.
    """

    frames: Dataset
    num_sequences: int
    num_frames: int


class Benchmark(ABC):
    """A dataset family: clean train/test splits and its -C (and -P) test sets.

    ``train_set`` yields (PIL image, label); ``test_set`` and ``corrupted_set`` yield
    (uint8 tensor (3, H, W), label), normalized later on the device with ``mean``/``std``.

    ``alexnet_normalized`` declares whether the family's -C errors are reported relative to
    AlexNet's (CE, mCE, relative mCE: ImageNet-C) or only as the unnormalized mean (CIFAR-C).
    """

    alexnet_normalized: bool = False
    #: The family whose natural-shift sets (``schema.SHIFTS``) this dataset is evaluated on; None: none.
    shift_family: str | None = None

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

    def can_download(self, part: str) -> bool:
        """Whether ``download(part)`` can fetch ``part`` (no part can unless a family says so)."""
        return False

    def download(self, part: str, progress: bool = True) -> None:
        """Fetch ``part`` into ``root``; parts without a source raise a ``UserError``."""
        raise UserError(f"dataset {self.name!r} cannot download {part!r}: {self.missing(part)}")

    def corruption_names(self) -> tuple[str, ...]:
        """The corruptions evaluated for the mean corruption error."""
        return CORRUPTIONS

    def corruption_bar_names(self) -> tuple[str, ...]:
        """The -C-bar corruptions evaluated for the suite ``corruptions_bar`` (none unless the family has a -C-bar set)."""
        return ()

    def corrupted_bar_set(self, corruption: str, severity: int) -> Dataset:
        """Test images under -C-bar ``corruption`` at ``severity`` (1-5); families without one raise a ``UserError``."""
        raise UserError(f"dataset {self.name!r} has no -C-bar set (corruptions_bar)")

    def corruption_bar_identity(self) -> dict[str, Any] | None:
        """Where the -C-bar set comes from and its fingerprint (``identity.corruption_source``); None without one."""
        return None

    def set_folder(self, part: str) -> Path | None:
        """The folder a robustness part (``corruptions``, ``corruptions_bar``) is read from; None where the family has none."""
        return None

    def released_archives(self, part: str) -> list[Any]:
        """The published archives (``sources.Archive``: file, url, md5) that ``part`` is installed from
        when read from its usual place; empty where it has none."""
        return []

    def transform_protocol(self) -> dict[str, str | None]:
        """How evaluation images are prepared, in words: ``eval_transform`` (clean) and
        ``corrupted_transform`` (-C / -C-bar / -P images; None: the clean one)."""
        return {"eval_transform": "none: the stored arrays, as they are", "corrupted_transform": None}

    def perturbation_names(self) -> tuple[str, ...]:
        """The perturbations evaluated for the flip metrics (none unless the family has a -P set)."""
        return ()

    def perturbed_set(self, perturbation: str) -> PerturbedSequences:
        """The frames of ``perturbation``'s sequences; families without a -P set raise a ``UserError``."""
        raise UserError(f"dataset {self.name!r} has no perturbation benchmark (-P)")

    def data_identity(self, parts: Iterable[str]) -> dict[str, Any]:
        """``results.json``'s ``data`` entry (``data/identity.py``): the name, a fingerprint of the
        files where the name alone does not say which they are, and, when ``parts`` include
        corruptions, where the -C set came from."""
        parts = list(parts)
        identity = {
            "name": self.name,
            "fingerprint": self.files_fingerprint(),
            "corruptions": self.corruption_identity() if "corruptions" in parts else None,
        }
        if "corruptions_bar" in parts:
            identity["corruptions_bar"] = self.corruption_bar_identity()
        return identity

    def files_fingerprint(self) -> str | None:
        """A fingerprint of the clean splits' files; None where the name identifies a published release."""
        return None

    def corruption_identity(self) -> dict[str, Any] | None:
        """Where the -C set comes from and its fingerprint (``identity.corruption_source``); None without one."""
        return None

    def downloads_folder(self) -> Path:
        """Where archives wait (``<file>.part`` while incomplete) until verified and unpacked."""
        return self.root / "downloads"

    def shift_names(self) -> tuple[str, ...]:
        """The natural-shift test sets this dataset can be evaluated on (``eval.shifts``' accepted names)."""
        return SHIFTS.get(self.shift_family or "", ())

    def select_shifts(self, names: Sequence[str] | None, key: str = "eval.shifts") -> tuple[str, ...]:
        """The shift sets to evaluate: ``names`` (given as ``key``), or the dataset's default ones when
        None; a ``UserError`` names an unknown one with the accepted ones, or a dataset without any."""
        accepted = self.shift_names()
        if not accepted:
            families = ", ".join(SHIFTS)
            raise UserError(
                f"dataset {self.name!r} has no natural-shift test sets (they exist for: {families}); "
                "leave shifts out of eval.suites"
            )
        if names is None:
            return DEFAULT_SHIFTS[self.shift_family or ""]
        for name in names:
            if name not in accepted:
                raise UserError(f"{key} has {name!r}, not a shift set of {self.name}; accepted: {', '.join(accepted)}")
        return tuple(names)

    def shift_transform(self) -> Callable[[Any], Any] | None:
        """How shift-set images become uint8 tensors: the clean test set's transform (None: the
        set's arrays are already the clean set's uint8 tensors)."""
        return None

    def shift_class_names(self) -> Sequence[str]:
        """The model's classes by wnid, which ImageNet shift sets' labels index."""
        return IMAGENET_WNIDS

    def shift_set(self, name: str) -> Dataset:
        """The shift set ``name`` under ``root`` as (uint8 tensor (3, H, W), label), prepared as the
        clean test set is."""
        self.select_shifts([name])
        return load_shift_set(name, self.root, self.shift_transform(), self.shift_class_names())

    def shift_classes(self, name: str) -> tuple[int, ...] | None:
        """The logits a set covering only some classes is scored on (ImageNet-R/-A: their 200), as
        indices of the model's classes; None: all of them."""
        wnids = SHIFT_SETS[name].subset_wnids
        return None if wnids is None else subset_indices(wnids, self.shift_class_names())

    def _prepare_shifts(self, names: Sequence[str], download: bool, progress: bool) -> None:
        """Make sure each shift set of ``names`` is on disk, downloading it when ``download`` is true
        and it has a verified source; otherwise one line naming the path and how to get it."""
        for name in names:
            absent = missing_path(name, self.root)
            if absent is None:
                continue
            spec = SHIFT_SETS[name]
            if not spec.downloads:
                raise UserError(f"{spec.title} not found at {absent}; {manual_placement(spec, self.root)}")
            if not download:
                raise UserError(
                    f"{spec.title} not found at {absent}; run augmix-download dataset={self.name} parts=[shifts] "
                    f"shifts=[{name}] dataset.root={self.root} (or dataset.download=true), or place it by hand "
                    "(docs/benchmarks.md, natural distribution shifts)"
                )
            install_shift_set(spec, self.root, self.downloads_folder(), progress)

    def prepare(
        self, parts: Iterable[str], download: bool, progress: bool = True, shifts: Sequence[str] | None = None
    ) -> None:
        """Make sure every part in ``parts`` is on disk, downloading it when ``download`` is true.

        ``shifts`` names the shift sets of the ``shifts`` part (None: the dataset's default ones).
        Raises a ``UserError`` naming the folder looked in and how to get the data otherwise.
        """
        parts = list(parts)
        for part in parts:
            if part not in PARTS:
                raise UserError(f"unknown dataset part {part!r}; choose from: {', '.join(PARTS)}")
        if "shifts" in parts:
            shift_names = self.select_shifts(shifts)
        for part in parts:
            if part == "shifts":
                self._prepare_shifts(shift_names, download, progress)
                continue
            problem = self.missing(part)
            if problem is None:
                self.verify(part)
                continue
            if part == "perturbations" and not self.perturbation_names():
                raise UserError(f"{problem}; leave perturbations out of eval.suites")
            if part == "corruptions_bar" and not (download and self.can_download(part)):
                raise UserError(
                    f"{problem}; build it with augmix-corrupt corrupt.suite=cbar and point "
                    "dataset.corruptions_bar_dir at it, or leave corruptions_bar out of eval.suites"
                )
            if not (download and self.can_download(part)):
                fetch = "run with dataset.download=true, or " if self.can_download(part) else ""
                raise UserError(
                    f"{problem}; {fetch}point dataset.root (env AUGMIX_DATA) at the folder that holds it"
                )
            self.download(part, progress)
            problem = self.missing(part)
            if problem is not None:
                raise UserError(f"download of {self.name} {part} finished but {problem}")
            self.verify(part)

    def verify(self, part: str) -> None:
        """Check, before any work, that the files of ``part`` (on disk) are what the evaluation
        reads (a ``UserError`` naming the file otherwise); families whose files need no check pass."""
