"""Which operations of an augmentation overlap the -C corruptions, so that -C is not held out for it.

The AugMix paper (section 3) removes from its op set the operations that overlap the test
corruptions (colour, contrast, brightness, sharpness; ``all_ops`` puts them back), and Composer's
AugMix offers the same cut (``augmentation_set='safe'``). A method trained with such an op has seen
a member of a test corruption's family during training: its -C score is not a held-out score.

An op overlaps a corruption when the corruption's image transformation belongs to the op's family:

================  ==============================  ===========================================
op                corruptions                     why
================  ==============================  ===========================================
brightness        brightness                      both shift the image's brightness
contrast          contrast                        both scale values about the mean
color             saturate                        both scale the saturation (saturate is one
                                                  of the four extra -C corruptions)
sharpness         defocus_blur, gaussian_blur     a factor below 1 blends in a 3x3 blur
diffeo (PRIME)    elastic_transform               both are smooth random displacement fields
================  ==============================  ===========================================

Not overlapping: the affine and geometric ops (shear, translate, rotate), autocontrast, equalize,
posterize, solarize and invert (the AugMix paper keeps them); PRIME's ``color`` (its curves
``x + sum c_k sin(pi k x)`` fix black and white, so they cannot shift brightness or scale contrast
as -C does) and ``filter`` (identity plus i.i.d. Gaussian kernel noise, not a blur family); PixMix's
mixing with pictures; Cutout, Mixup, CutMix, FMix, PGD. Torch-free: the report reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Each overlapping operation (lower-case, as ``augment/ops.py`` names AugMix's ops) and the -C
#: corruptions it overlaps.
OVERLAPS: dict[str, tuple[str, ...]] = {
    "brightness": ("brightness",),
    "contrast": ("contrast",),
    "color": ("saturate",),
    "sharpness": ("defocus_blur", "gaussian_blur"),
    "diffeo": ("elastic_transform",),
}

#: The ops that AugMix's ``all_ops`` adds to its set (``augment/ops.py`` ALL_OPS - AUGMIX_OPS).
ALL_OPS_EXTRA: tuple[str, ...] = ("color", "contrast", "brightness", "sharpness")

#: torchvision's TrivialAugmentWide and RandAugment: the overlapping ops of their fixed op space.
TORCHVISION_WIDE: tuple[str, ...] = ("brightness", "color", "contrast", "sharpness")

#: torchvision's AutoAugment policies: the overlapping ops each policy uses.
AUTOAUGMENT_POLICIES: dict[str, tuple[str, ...]] = {
    "cifar10": ("brightness", "color", "contrast", "sharpness"),
    "imagenet": ("color", "contrast", "sharpness"),
    "svhn": ("contrast",),
}

#: Augmentation configs (``configs/augmentation/<name>.yaml``) that draw from AugMix's op set, and
#: ``all_ops`` when the config does not say: off in AugMix's configs, on in PixMix's reference recipes.
AUGMIX_OP_SET: dict[str, bool] = {
    "augmix": False, "augmix_no_jsd": False, "random_aa": False, "random_aa_jsd": False, "pixmix": True,
}
#: Augmentation configs whose ops are fixed, with the overlapping ones.
FIXED: dict[str, tuple[str, ...]] = {
    "standard": (), "cutout": (), "mixup": (), "cutmix": (), "fmix": (), "adversarial": (),
    "prime": ("diffeo",), "prime_jsd": ("diffeo",),
    "trivialaugment": TORCHVISION_WIDE, "trivialaugment_jsd": TORCHVISION_WIDE,
    "randaugment": TORCHVISION_WIDE, "randaugment_jsd": TORCHVISION_WIDE,
}
#: ``augmentation=transform``'s torchvision targets whose op sets are known.
TRANSFORMS: dict[str, tuple[str, ...]] = {
    "torchvision.transforms.TrivialAugmentWide": TORCHVISION_WIDE,
    "torchvision.transforms.RandAugment": TORCHVISION_WIDE,
}


def overlapping_ops(augmentation: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The ops of an augmentation config (its ``name`` and options) that overlap -C corruptions,
    in ``OVERLAPS`` order; None where the augmentation's op set is not known (a user's own)."""
    if not isinstance(augmentation, Mapping):
        return None
    name = augmentation.get("name")
    if name in AUGMIX_OP_SET:
        ops = ALL_OPS_EXTRA if augmentation.get("all_ops", AUGMIX_OP_SET[name]) else ()
    elif name in FIXED:
        ops = FIXED[name]
    elif name == "autoaugment":
        removed = {str(op).lower() for op in augmentation.get("removed_ops") or ()}
        policy = AUTOAUGMENT_POLICIES.get(str(augmentation.get("policy", "cifar10")))
        if policy is None:
            return None
        ops = tuple(op for op in policy if op not in removed)
    elif name == "transform":
        target = (augmentation.get("transform") or {}).get("_target_")
        if target not in TRANSFORMS:
            return None
        ops = TRANSFORMS[target]
    else:
        return None
    return tuple(op for op in OVERLAPS if op in ops)


def corruption_overlap(augmentation: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """``results.json``'s ``corruption_overlap``: each overlapping op of the augmentation config and
    the -C corruptions it overlaps (``{}``: -C is held out; None: the op set is not known)."""
    ops = overlapping_ops(augmentation)
    return None if ops is None else {op: list(OVERLAPS[op]) for op in ops}
