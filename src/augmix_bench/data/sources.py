"""Where every downloadable dataset comes from: URLs and md5 checksums (the one source of truth).

Clean CIFAR comes from torchvision's own constants; the corruption (-C) and perturbation (-P)
archives are the Zenodo releases of Hendrycks & Dietterich (REFERENCE.md section 6). ImageNet and
ImageNet-P are not downloaded: ImageNet's licence requires an account, and no checksums of the
ImageNet-P archives are recorded here to verify them against.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from torchvision.datasets import CIFAR10, CIFAR100


@dataclass(frozen=True)
class Archive:
    """One downloadable archive and the folders it provides.

    Attributes:
        url: where to fetch it.
        md5: the checksum the downloaded file must have.
        folders: the folders the archive holds (at its top level, or inside its single top-level
            folder), each installed as ``<destination>/<folder>``.
    """

    url: str
    md5: str
    folders: tuple[str, ...]

    @property
    def filename(self) -> str:
        """The file name at the end of the URL."""
        return urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1] or "download"


#: Clean CIFAR in torchvision's pickled format (torchvision's URLs and checksums).
CIFAR_CLEAN: dict[str, Archive] = {
    "cifar10": Archive(CIFAR10.url, CIFAR10.tgz_md5, (CIFAR10.base_folder,)),
    "cifar100": Archive(CIFAR100.url, CIFAR100.tgz_md5, (CIFAR100.base_folder,)),
}

#: CIFAR-10-C / CIFAR-100-C (Zenodo records 2535967 and 3555552).
CIFAR_CORRUPTED: dict[str, Archive] = {
    "cifar10": Archive(
        "https://zenodo.org/record/2535967/files/CIFAR-10-C.tar",
        "56bf5dcef84df0e2308c6dcbcbbd8499",
        ("CIFAR-10-C",),
    ),
    "cifar100": Archive(
        "https://zenodo.org/record/3555552/files/CIFAR-100-C.tar",
        "11f0ed0f1191edbf9fa23466ae6021d3",
        ("CIFAR-100-C",),
    ),
}

#: CIFAR-10-P (Zenodo record 2535967; the md5 is the one the record lists for CIFAR-10-P.tar).
#: No CIFAR-100-P was released.
CIFAR_PERTURBED: dict[str, Archive] = {
    "cifar10": Archive(
        "https://zenodo.org/record/2535967/files/CIFAR-10-P.tar",
        "125d6775afc5846ea84584d7524dedff",
        ("CIFAR-10-P",),
    ),
}

#: The ImageNet-C archives needed for the 15 benchmark corruptions (Zenodo record 2235448), each
#: holding ``<corruption>/<severity>/<wnid>/*.JPEG`` for the corruptions it lists.
IMAGENET_CORRUPTED: dict[str, Archive] = {
    "noise": Archive(
        "https://zenodo.org/record/2235448/files/noise.tar",
        "e80562d7f6c3f8834afb1ecf27252745",
        ("gaussian_noise", "shot_noise", "impulse_noise"),
    ),
    "blur": Archive(
        "https://zenodo.org/record/2235448/files/blur.tar",
        "2d8e81fdd8e07fef67b9334fa635e45c",
        ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur"),
    ),
    "weather": Archive(
        "https://zenodo.org/record/2235448/files/weather.tar",
        "33ffea4db4d93fe4a428c40a6ce0c25d",
        ("snow", "frost", "fog", "brightness"),
    ),
    "digital": Archive(
        "https://zenodo.org/record/2235448/files/digital.tar",
        "89157860d7b10d5797849337ca2e5c03",
        ("contrast", "elastic_transform", "pixelate", "jpeg_compression"),
    ),
}

#: How to obtain what cannot be downloaded automatically.
IMAGENET_INSTRUCTIONS = (
    "ImageNet (ILSVRC2012) cannot be downloaded automatically (licence): get it from "
    "https://image-net.org/download after signing up, and arrange train/ and val/ as one folder per wnid"
)
IMAGENET_P_INSTRUCTIONS = (
    "ImageNet-P is not downloaded automatically (no recorded checksums): fetch blur.tar, digital.tar, "
    "noise.tar and weather.tar from https://zenodo.org/record/3565846 and unpack them into"
)
