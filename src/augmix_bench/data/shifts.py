"""Natural distribution-shift test sets, read in the formats their authors released.

CIFAR-10 family (uint8 arrays, read whole; items are (uint8 tensor (3, 32, 32), label)):

    <root>/CIFAR-10.1/cifar10.1_v6_data.npy, cifar10.1_v6_labels.npy   (v4: cifar10.1_v4_*)
    <root>/CIFAR-10.2/cifar102_test.npz          (keys images, labels; the current release)
    <root>/CIFAR-10.2/cifar102_test.npy          (the 2020 release: a pickled dict, same keys)

ImageNet family (image folders; items are (PIL RGB image, or ``transform(image)``, label)):

    <root>/imagenetv2-matched-frequency-format-val/<class index 0..999>/*.jpeg
    <root>/imagenet-r/<wnid>/*.jpg        200 classes
    <root>/imagenet-a/<wnid>/*.jpg        200 classes
    <root>/sketch/<wnid>/*.JPEG           1000 classes

ImageNet labels are indices into the model's classes, by default the 1000 sorted ImageNet wnids
(``IMAGENET_WNIDS``: the labels torchvision's ImageFolder gives on the ImageNet training folder).
ImageNet-R and -A cover 200 classes; their authors score a 1000-class model on those 200 logits only
(``restrict_logits``, ``restrict_labels``). ``SHIFT_SETS`` records each set's layout, size, source,
licence and checksums.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import UserError
from .arrays import ArrayTensorDataset
from .download import file_digest
from .image_files import IMAGE_SUFFIXES, ImageFileDataset, class_folders, scan_files
from .imagenet_wnids import IMAGENET_A_WNIDS, IMAGENET_R_WNIDS, IMAGENET_WNIDS

__all__ = [
    "IMAGENET_A_CLASS_INDICES",
    "IMAGENET_A_WNIDS",
    "IMAGENET_R_CLASS_INDICES",
    "IMAGENET_R_WNIDS",
    "IMAGENET_WNIDS",
    "SHIFT_SETS",
    "ShiftSet",
    "check_size",
    "cifar10_1",
    "cifar10_2",
    "file_checksum",
    "imagenet_a",
    "imagenet_r",
    "imagenet_sketch",
    "imagenet_v2",
    "load_shift_set",
    "missing_path",
    "restrict_labels",
    "restrict_logits",
    "subset_indices",
    "verify_file",
]

#: Side of CIFAR images and the number of CIFAR-10 classes.
CIFAR_SIDE = 32
CIFAR10_CLASSES = 10
#: CIFAR-10.1 releases: v6 (2,000 images, class balanced; the authors recommend it) and v4 (2,021).
CIFAR10_1_VERSIONS: tuple[str, ...] = ("v6", "v4")


@dataclass(frozen=True)
class ShiftSet:
    """What one released shift test set is and where it comes from.

    Attributes:
        name: key in ``SHIFT_SETS`` and the name ``load_shift_set`` takes.
        title: the name its authors use.
        family: the clean dataset it shifts from: ``cifar10`` or ``imagenet``.
        folder: its folder under the datasets root.
        layout: the files inside ``folder``.
        size: the number of test images in the release.
        num_classes: classes present in the set (ImageNet-R/-A: 200 of the 1000).
        subset_wnids: the classes a model is scored on when the set covers only some (else None).
        url: where the authors publish it.
        paper: the paper that introduced it.
        license: the licence as the authors state it.
        checksums: file or archive name -> ``sha256:<hex>`` or ``git-blob-sha1:<hex>`` (see
            ``file_checksum``), or None where no verifiable checksum exists.
        checksum_source: where the checksums are published, or ``manual placement``.
        downloads: file name -> URL for the sets ``augmix-download parts=[shifts]`` fetches (each
            verified against ``checksums`` from the authors' repository); None: placed by hand.
    """

    name: str
    title: str
    family: str
    folder: str
    layout: str
    size: int
    num_classes: int
    subset_wnids: tuple[str, ...] | None
    url: str
    paper: str
    license: str
    checksums: Mapping[str, str] | None
    checksum_source: str
    downloads: Mapping[str, str] | None = None


_TINY_IMAGES_TERMS = (
    "the repository's MIT licence excludes the data; the images are part of Tiny Images and "
    "'can be used the same way as the Tiny Images dataset' (README)"
)
_CIFAR10_1_COMMIT = "d9982abb0bfc4846b8d13a11e66b887d946205d0"
_CIFAR10_1_TREE = f"git tree of modestyachts/CIFAR-10.1 at {_CIFAR10_1_COMMIT} (datasets/)"
_CIFAR10_2_COMMIT = "521467a52ad494b78ff9c70051099c0d9ba74d40"


def _raw(repository: str, commit: str, path: str) -> str:
    """The URL of ``path`` in ``repository`` at ``commit`` (the bytes whose git blob id is recorded)."""
    return f"https://raw.githubusercontent.com/{repository}/{commit}/{path}"


def _cifar10_1_files(version: str) -> dict[str, str]:
    return {
        f"cifar10.1_{version}_{kind}.npy": _raw(
            "modestyachts/CIFAR-10.1", _CIFAR10_1_COMMIT, f"datasets/cifar10.1_{version}_{kind}.npy"
        )
        for kind in ("data", "labels")
    }

_TFDS = "TensorFlow Datasets' recorded download checksums (tensorflow/datasets, {}), not the authors'"

#: The supported shift sets (facts: the authors' repositories and READMEs; archive checksums as
#: recorded by TensorFlow Datasets, since the authors publish none for their archives).
SHIFT_SETS: dict[str, ShiftSet] = {
    s.name: s
    for s in (
        ShiftSet(
            name="cifar10_1",
            title="CIFAR-10.1 (v6)",
            family="cifar10",
            folder="CIFAR-10.1",
            layout="cifar10.1_v6_data.npy uint8 (2000, 32, 32, 3) and cifar10.1_v6_labels.npy (2000,)",
            size=2000,
            num_classes=10,
            subset_wnids=None,
            url="https://github.com/modestyachts/CIFAR-10.1",
            paper="Recht et al. 2018, Do CIFAR-10 Classifiers Generalize to CIFAR-10? (arXiv:1806.00451)",
            license=_TINY_IMAGES_TERMS,
            checksums={
                "cifar10.1_v6_data.npy": "git-blob-sha1:24349cc5f3fb59648d75cd8015b5a184b1f5c250",
                "cifar10.1_v6_labels.npy": "git-blob-sha1:e713b09cecf2ecd933970001909fcdec7c907ab0",
            },
            checksum_source=_CIFAR10_1_TREE,
            downloads=_cifar10_1_files("v6"),
        ),
        ShiftSet(
            name="cifar10_1_v4",
            title="CIFAR-10.1 (v4)",
            family="cifar10",
            folder="CIFAR-10.1",
            layout="cifar10.1_v4_data.npy uint8 (2021, 32, 32, 3) and cifar10.1_v4_labels.npy (2021,)",
            size=2021,
            num_classes=10,
            subset_wnids=None,
            url="https://github.com/modestyachts/CIFAR-10.1",
            paper="Recht et al. 2018, Do CIFAR-10 Classifiers Generalize to CIFAR-10? (arXiv:1806.00451)",
            license=_TINY_IMAGES_TERMS,
            checksums={
                "cifar10.1_v4_data.npy": "git-blob-sha1:1094f59a54cf768f7b1ca5029eb4a94b8c635ebe",
                "cifar10.1_v4_labels.npy": "git-blob-sha1:64acdcc7ba98d0554f9c9fe00c5483d9247e61df",
            },
            checksum_source=_CIFAR10_1_TREE,
            downloads=_cifar10_1_files("v4"),
        ),
        ShiftSet(
            name="cifar10_2",
            title="CIFAR-10.2",
            family="cifar10",
            folder="CIFAR-10.2",
            layout="cifar102_test.npz with arrays images uint8 (2000, 32, 32, 3) and labels (2000,) "
            "(or the 2020 release cifar102_test.npy, a pickled dict with the same keys)",
            size=2000,
            num_classes=10,
            subset_wnids=None,
            url="https://github.com/modestyachts/cifar-10.2",
            paper="Lu et al. 2020, Harder or Different? A Closer Look at Distribution Shift in Dataset "
            "Reproduction (ICML 2020 UDL workshop)",
            license="none stated (the repository has no licence file; images come from Tiny Images)",
            checksums={
                "cifar102_test.npz": "git-blob-sha1:7a3829681be56af70ea80ec99cf3822e2f5edff3",
                "cifar102_test.npy": "git-blob-sha1:6b36cd9ffb2ed0bb189fde912625b07d3d3a825f",
            },
            checksum_source=f"git trees of modestyachts/cifar-10.2: .npz at {_CIFAR10_2_COMMIT}, "
            ".npy at 08f72678c5d449b100dc6c74a1942f78a1a1f128",
            downloads={"cifar102_test.npz": _raw("modestyachts/cifar-10.2", _CIFAR10_2_COMMIT, "cifar102_test.npz")},
        ),
        ShiftSet(
            name="imagenet_v2",
            title="ImageNet-V2 (MatchedFrequency)",
            family="imagenet",
            folder="imagenetv2-matched-frequency-format-val",
            layout="<class index 0..999>/<n>.jpeg, 10 images per class",
            size=10000,
            num_classes=1000,
            subset_wnids=None,
            url="https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/imagenetv2-matched-frequency.tar.gz",
            paper="Recht et al. 2019, Do ImageNet Classifiers Generalize to ImageNet? (ICML 2019)",
            license="MIT (the LICENSE of modestyachts/ImageNetV2; no separate data licence stated)",
            checksums={
                "imagenetv2-matched-frequency.tar.gz": "sha256:"
                "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c",
            },
            checksum_source=_TFDS.format("datasets/imagenet_v2/checksums.tsv; 1,264,079,360 bytes"),
        ),
        ShiftSet(
            name="imagenet_r",
            title="ImageNet-R",
            family="imagenet",
            folder="imagenet-r",
            layout="<wnid>/*.jpg, 200 class folders",
            size=30000,
            num_classes=200,
            subset_wnids=IMAGENET_R_WNIDS,
            url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar",
            paper="Hendrycks et al. 2021, The Many Faces of Robustness (ICCV 2021)",
            license="MIT (the LICENSE of hendrycks/imagenet-r; no separate data licence stated)",
            checksums={
                "imagenet-r.tar": "sha256:18c6bf493b39a0d975d48e587437f562caab9c52ae6327dcfa9dd8eb54aa1b52",
            },
            checksum_source=_TFDS.format("datasets/imagenet_r/checksums.tsv; 2,191,079,936 bytes"),
        ),
        ShiftSet(
            name="imagenet_a",
            title="ImageNet-A",
            family="imagenet",
            folder="imagenet-a",
            layout="<wnid>/*.jpg, 200 class folders",
            size=7500,
            num_classes=200,
            subset_wnids=IMAGENET_A_WNIDS,
            url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar",
            paper="Hendrycks et al. 2021, Natural Adversarial Examples (CVPR 2021)",
            license="MIT (the LICENSE of hendrycks/natural-adv-examples; no separate data licence stated)",
            checksums={
                "imagenet-a.tar": "sha256:3bb3632277e6ba6392ea64c02ddbf4dd2266c9caffd6bc09c9656d28f012589e",
            },
            checksum_source=_TFDS.format("datasets/imagenet_a/checksums.tsv; 687,552,512 bytes"),
        ),
        ShiftSet(
            name="imagenet_sketch",
            title="ImageNet-Sketch",
            family="imagenet",
            folder="sketch",
            layout="<wnid>/*.JPEG, 1000 class folders",
            size=50889,
            num_classes=1000,
            subset_wnids=None,
            url="https://github.com/HaohanWang/ImageNet-Sketch (Google Drive, Kaggle or Hugging Face links)",
            paper="Wang et al. 2019, Learning Robust Global Representations by Penalizing Local "
            "Predictive Power (NeurIPS 2019)",
            license="MIT (the LICENSE of HaohanWang/ImageNet-Sketch; no separate data licence stated)",
            checksums={
                "ImageNet-Sketch.zip": "sha256:4d3ce6b82a7c48aabf14aeac105eb533e75707f152cc858f55bfc022031a72ed",
            },
            checksum_source=_TFDS.format("datasets/imagenet_sketch/checksums.tsv; 7,593,573,012 bytes, "
                                         "the Google Drive archive"),
        ),
    )
}


def subset_indices(wnids: Sequence[str], classes: Sequence[str] = IMAGENET_WNIDS) -> tuple[int, ...]:
    """Positions of ``wnids`` among the model's ``classes`` (default: the 1000 sorted ImageNet wnids)."""
    position = {wnid: index for index, wnid in enumerate(classes)}
    absent = [w for w in wnids if w not in position]
    if absent:
        raise UserError(f"class {absent[0]!r} is not among the model's {len(position)} classes")
    return tuple(position[w] for w in wnids)


#: ImageNet-1k labels of ImageNet-R's / ImageNet-A's 200 classes, ascending: the logit columns their
#: authors' evaluation keeps (``imagenet_r_mask`` / ``indices_in_1k`` in their eval.py).
IMAGENET_R_CLASS_INDICES: tuple[int, ...] = subset_indices(IMAGENET_R_WNIDS)
IMAGENET_A_CLASS_INDICES: tuple[int, ...] = subset_indices(IMAGENET_A_WNIDS)

ArrayOrTensor = TypeVar("ArrayOrTensor", torch.Tensor, np.ndarray)


def _checked_indices(class_indices: Sequence[int], num_classes: int | None) -> list[int]:
    """``class_indices`` as ints if they are distinct and in ``0..num_classes-1`` (any
    non-negative index when ``num_classes`` is None), else a ``UserError``."""
    indices = [int(i) for i in class_indices]
    if not indices:
        raise UserError("class_indices is empty; expected the indices of the classes to keep")
    if len(set(indices)) != len(indices):
        raise UserError("class_indices repeats a class; expected distinct class indices")
    bad = [i for i in indices if i < 0 or (num_classes is not None and i >= num_classes)]
    if bad:
        raise UserError(f"class index {bad[0]} is out of range for {num_classes or 'any number of'} classes")
    return indices


def restrict_logits(logits: ArrayOrTensor, class_indices: Sequence[int]) -> ArrayOrTensor:
    """The columns ``class_indices`` of ``logits`` (N, C), in that order: an (N, len(class_indices)) array.

    This is how the ImageNet-R and ImageNet-A authors score a 1000-class model: they keep the 200
    logits of the set's classes (``output[:, mask]``), take the argmax over those only, and take
    softmax confidences over those only; labels are the positions 0..199 (see ``restrict_labels``).
    So a picture whose largest logit is a class outside the subset is still predicted as the best
    class inside it. Works on torch tensors and NumPy arrays alike.
    """
    if logits.ndim != 2:
        raise UserError(f"logits of shape {tuple(logits.shape)} are invalid; expected (samples, classes)")
    indices = _checked_indices(class_indices, int(logits.shape[1]))
    if isinstance(logits, torch.Tensor):
        return logits[:, torch.as_tensor(indices, dtype=torch.long, device=logits.device)]
    return np.asarray(logits)[:, indices]


def restrict_labels(labels: ArrayOrTensor, class_indices: Sequence[int]) -> ArrayOrTensor:
    """Labels re-numbered as positions in ``class_indices`` (so they match ``restrict_logits``).

    ``labels`` hold indices into the full class list; a label that is not among ``class_indices``
    is refused. The authors' ImageFolder over the 200 sorted wnid folders gives the same 0..199
    labels, since ``IMAGENET_*_CLASS_INDICES`` are ascending.
    """
    position = {index: k for k, index in enumerate(_checked_indices(class_indices, None))}
    values = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    mapped = np.array([position.get(int(v), -1) for v in values.reshape(-1)], dtype=np.int64)
    if (mapped < 0).any():
        outside = int(values.reshape(-1)[mapped < 0][0])
        raise UserError(f"label {outside} is not among the {len(position)} kept classes")
    mapped = mapped.reshape(values.shape)
    if isinstance(labels, torch.Tensor):
        return torch.from_numpy(mapped).to(labels.device)
    return mapped


def _set(name: str) -> ShiftSet:
    if name not in SHIFT_SETS:
        raise UserError(f"unknown shift set {name!r}; choose from: {', '.join(SHIFT_SETS)}")
    return SHIFT_SETS[name]


def missing_path(name: str, root: str | Path) -> Path | None:
    """The first file or folder of the shift set ``name`` that is absent under ``root``; None when
    everything it reads is there (CIFAR-10.2: the ``.npz``, or else the 2020 ``.npy``)."""
    spec = _set(name)
    folder = Path(root).expanduser() / spec.folder
    if spec.family == "imagenet":
        return None if folder.is_dir() else folder
    if name == "cifar10_2":
        npz = folder / "cifar102_test.npz"
        return None if npz.is_file() or (folder / "cifar102_test.npy").is_file() else npz
    version = "v4" if name == "cifar10_1_v4" else "v6"
    for kind in ("data", "labels"):
        path = folder / f"cifar10.1_{version}_{kind}.npy"
        if not path.is_file():
            return path
    return None


def _missing(spec: ShiftSet, path: Path) -> UserError:
    return UserError(f"{spec.title} not found: expected {path} ({spec.layout}); source: {spec.url}")


def _checked_cifar(images: np.ndarray, labels: np.ndarray, source: Path) -> tuple[np.ndarray, np.ndarray]:
    """``images`` and ``labels`` (as int64) if they are a CIFAR-10 test set, else a ``UserError``."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, 3):
        raise UserError(
            f"{source}: images of dtype {images.dtype} and shape {images.shape} are invalid; "
            f"expected uint8 (N, {CIFAR_SIDE}, {CIFAR_SIDE}, 3)"
        )
    if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise UserError(
            f"{source}: labels of dtype {labels.dtype} and shape {labels.shape} are invalid; "
            f"expected {len(images)} integer labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= CIFAR10_CLASSES):
        raise UserError(f"{source}: labels range {labels.min()}..{labels.max()}; expected 0..{CIFAR10_CLASSES - 1}")
    return images, labels.astype(np.int64)


def _read_npy(path: Path, spec: ShiftSet, allow_pickle: bool = False) -> Any:
    if not path.is_file():
        raise _missing(spec, path)
    try:
        return np.load(path, allow_pickle=allow_pickle)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty or cut-off file
        raise UserError(f"{path} is not a readable NumPy file ({exc})") from None


def cifar10_1(root: str | Path, version: str = "v6") -> ArrayTensorDataset:
    """CIFAR-10.1 from ``<root>/CIFAR-10.1/cifar10.1_<version>_{data,labels}.npy`` (version v6 or v4).

    Items are (uint8 tensor (3, 32, 32), label in 0..9), like the clean CIFAR test set.
    """
    if version not in CIFAR10_1_VERSIONS:
        raise UserError(f"CIFAR-10.1 version {version!r} is invalid; accepted: {', '.join(CIFAR10_1_VERSIONS)}")
    spec = SHIFT_SETS["cifar10_1" if version == "v6" else "cifar10_1_v4"]
    folder = Path(root).expanduser() / spec.folder
    data_path = folder / f"cifar10.1_{version}_data.npy"
    labels_path = folder / f"cifar10.1_{version}_labels.npy"
    images = _read_npy(data_path, spec)
    labels = _read_npy(labels_path, spec)
    return ArrayTensorDataset(*_checked_cifar(images, labels, folder))


def cifar10_2(root: str | Path) -> ArrayTensorDataset:
    """CIFAR-10.2's test set from ``<root>/CIFAR-10.2/cifar102_test.npz`` (the current release), or
    from ``cifar102_test.npy`` (the 2020 release: a pickled dict) when there is no ``.npz``.

    Only the ``images`` and ``labels`` entries are read. Reading the ``.npy`` release unpickles it,
    which can run code: only place a file you obtained from the authors there. Items are
    (uint8 tensor (3, 32, 32), label in 0..9).
    """
    spec = SHIFT_SETS["cifar10_2"]
    folder = Path(root).expanduser() / spec.folder
    npz, npy = folder / "cifar102_test.npz", folder / "cifar102_test.npy"
    if npz.is_file():
        archive = _read_npy(npz, spec)
        if not hasattr(archive, "files"):
            raise UserError(f"{npz} is not an .npz archive; expected arrays 'images' and 'labels'")
        with archive:
            missing = [k for k in ("images", "labels") if k not in archive.files]
            if missing:
                raise UserError(f"{npz} has no {missing[0]!r} array; found: {', '.join(archive.files)}")
            images, labels = archive["images"], archive["labels"]
        return ArrayTensorDataset(*_checked_cifar(images, labels, npz))
    if not npy.is_file():
        raise _missing(spec, npz)
    loaded = _read_npy(npy, spec, allow_pickle=True)
    content = loaded.item() if isinstance(loaded, np.ndarray) and loaded.dtype == object and loaded.ndim == 0 else None
    if not isinstance(content, dict) or not {"images", "labels"} <= set(content):
        raise UserError(f"{npy} is not the released pickled dict; expected keys 'images' and 'labels'")
    return ArrayTensorDataset(*_checked_cifar(content["images"], content["labels"], npy))


def _class_to_index(classes: Sequence[str]) -> dict[str, int]:
    mapping = {wnid: index for index, wnid in enumerate(classes)}
    if len(mapping) != len(classes):
        raise UserError("classes repeats a class; expected distinct wnids, one per model output")
    return mapping


def _folder_dataset(
    spec: ShiftSet,
    root: str | Path,
    labels: Mapping[str, int],
    describe: Callable[[str], str],
    transform: Callable[[Image.Image], Any] | None,
) -> ImageFileDataset:
    """The images under ``<root>/<spec.folder>/<class folder>/``, labelled ``labels[class folder]``;
    a class folder not in ``labels`` is refused with ``describe(folder name)``."""
    folder = Path(root).expanduser() / spec.folder
    if not folder.is_dir():
        raise _missing(spec, folder)
    unknown = [name for name in class_folders(folder) if name not in labels]
    if unknown:
        raise UserError(f"{folder / unknown[0]}: {describe(unknown[0])}")
    return ImageFileDataset(scan_files(folder, labels, IMAGE_SUFFIXES), transform)


def imagenet_v2(
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None = None,
    classes: Sequence[str] = IMAGENET_WNIDS,
) -> ImageFileDataset:
    """ImageNet-V2 MatchedFrequency from ``<root>/imagenetv2-matched-frequency-format-val``.

    Its class folders are named by ImageNet class index (``0`` .. ``999``, the position among the
    sorted wnids), so the label is that number mapped onto ``classes``, not the folder's rank (which
    torchvision's ImageFolder would give: ``10`` sorts before ``2``).
    """
    to_index = _class_to_index(classes)
    labels = {str(i): to_index[w] for i, w in enumerate(IMAGENET_WNIDS) if w in to_index}

    def describe(name: str) -> str:
        if name.isdigit() and int(name) < len(IMAGENET_WNIDS) and str(int(name)) == name:
            return f"class {name} ({IMAGENET_WNIDS[int(name)]}) is not among the model's {len(to_index)} classes"
        return f"folder name {name!r} is not an ImageNet class index 0..{len(IMAGENET_WNIDS) - 1}"

    return _folder_dataset(SHIFT_SETS["imagenet_v2"], root, labels, describe, transform)


def _wnid_folders(
    name: str,
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None,
    classes: Sequence[str],
) -> ImageFileDataset:
    spec = SHIFT_SETS[name]
    to_index = _class_to_index(classes)
    allowed = set(spec.subset_wnids or IMAGENET_WNIDS)
    labels = {w: i for w, i in to_index.items() if w in allowed}

    def describe(folder_name: str) -> str:
        if folder_name in allowed:
            return f"class {folder_name!r} is not among the model's {len(to_index)} classes"
        return f"folder name {folder_name!r} is not one of {spec.title}'s {len(allowed)} class wnids"

    return _folder_dataset(spec, root, labels, describe, transform)


def imagenet_r(
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None = None,
    classes: Sequence[str] = IMAGENET_WNIDS,
) -> ImageFileDataset:
    """ImageNet-R from ``<root>/imagenet-r/<wnid>/``; labels index ``classes`` (the 1000 ImageNet
    classes), so score with ``restrict_logits``/``restrict_labels`` and ``IMAGENET_R_CLASS_INDICES``."""
    return _wnid_folders("imagenet_r", root, transform, classes)


def imagenet_a(
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None = None,
    classes: Sequence[str] = IMAGENET_WNIDS,
) -> ImageFileDataset:
    """ImageNet-A from ``<root>/imagenet-a/<wnid>/``; labels index ``classes`` (the 1000 ImageNet
    classes), so score with ``restrict_logits``/``restrict_labels`` and ``IMAGENET_A_CLASS_INDICES``."""
    return _wnid_folders("imagenet_a", root, transform, classes)


def imagenet_sketch(
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None = None,
    classes: Sequence[str] = IMAGENET_WNIDS,
) -> ImageFileDataset:
    """ImageNet-Sketch from ``<root>/sketch/<wnid>/`` (all 1000 classes); labels index ``classes``."""
    return _wnid_folders("imagenet_sketch", root, transform, classes)


def load_shift_set(
    name: str,
    root: str | Path,
    transform: Callable[[Image.Image], Any] | None = None,
    classes: Sequence[str] = IMAGENET_WNIDS,
) -> Dataset:
    """The shift set ``name`` (a key of ``SHIFT_SETS``) under ``root``.

    CIFAR sets yield uint8 tensors and take no ``transform``; ImageNet sets yield PIL images, or
    ``transform(image)``, labelled with indices into ``classes``.
    """
    spec = _set(name)
    if spec.family == "cifar10":
        if transform is not None:
            raise UserError(f"{name} yields uint8 tensors (3, 32, 32); a transform is not accepted")
        if name == "cifar10_2":
            return cifar10_2(root)
        return cifar10_1(root, "v4" if name == "cifar10_1_v4" else "v6")
    if name == "imagenet_v2":
        return imagenet_v2(root, transform, classes)
    return _wnid_folders(name, root, transform, classes)


def check_size(name: str, dataset: Dataset) -> None:
    """A ``UserError`` unless ``dataset`` holds as many images as the release of ``name`` (an
    incomplete extraction, or a different version, otherwise goes unnoticed)."""
    spec = _set(name)
    count = len(dataset)  # type: ignore[arg-type]
    if count != spec.size:
        raise UserError(
            f"{spec.title} has {count} images; the release has {spec.size} (incomplete or another version?)"
        )


def file_checksum(path: str | Path, kind: str) -> str:
    """``<kind>:<hex digest>`` of the file at ``path``; ``kind`` is ``sha256`` or ``git-blob-sha1``
    (the id git gives the file's content: SHA-1 of ``b"blob <size>\\0"`` followed by the bytes)."""
    path = Path(path)
    if kind == "sha256":
        digest = hashlib.sha256()
    elif kind == "git-blob-sha1":
        digest = hashlib.sha1()
        digest.update(b"blob %d\0" % path.stat().st_size)
    else:
        raise UserError(f"checksum kind {kind!r} is invalid; accepted: sha256, git-blob-sha1")
    return f"{kind}:{file_digest(path, digest)}"


def verify_file(path: str | Path, expected: str) -> None:
    """A ``UserError`` naming ``path`` unless its checksum equals ``expected`` (``<kind>:<hex>``)."""
    kind = expected.split(":", 1)[0]
    if not Path(path).is_file():
        raise UserError(f"cannot verify {path}: no such file")
    actual = file_checksum(path, kind)
    if actual != expected:
        raise UserError(f"{path} has checksum {actual}; expected {expected}")
