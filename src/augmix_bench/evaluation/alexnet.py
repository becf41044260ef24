"""AlexNet's reference errors, which ImageNet-C's CE / mCE / relative mCE are normalized by.

Source: REFERENCE.md section 5, which gives AlexNet's ImageNet-C top-1 error of each corruption
averaged over the five severities (fractions), as used by Hendrycks & Dietterich (2019) and the
AugMix paper. The normalizer of ``CE_c = sum_s E_cs / sum_s E^AlexNet_cs`` is therefore five times
the mean given here.

AlexNet's ImageNet-P flip probabilities and top-5 distances (the normalizers of mFR and mT5D) are
not recorded here: no source for them could be verified, so mFR / mT5D are reported only by
callers that pass AlexNet's values themselves (see ``metrics.normalized_mean``).
"""

from __future__ import annotations

from types import MappingProxyType

#: AlexNet's ImageNet-C error of each of the 15 benchmark corruptions, mean over severities (fraction).
CORRUPTION_ERRORS = MappingProxyType(
    {
        "gaussian_noise": 0.886428,
        "shot_noise": 0.894468,
        "impulse_noise": 0.922640,
        "defocus_blur": 0.819880,
        "glass_blur": 0.826268,
        "motion_blur": 0.785948,
        "zoom_blur": 0.798360,
        "snow": 0.866816,
        "frost": 0.826572,
        "fog": 0.819324,
        "brightness": 0.564592,
        "contrast": 0.853204,
        "elastic_transform": 0.646056,
        "pixelate": 0.717840,
        "jpeg_compression": 0.606500,
    }
)

#: AlexNet's error on the four held-out ImageNet-C corruptions (not part of mCE), mean over severities.
EXTRA_CORRUPTION_ERRORS = MappingProxyType(
    {
        "speckle_noise": 0.845388,
        "gaussian_blur": 0.787108,
        "spatter": 0.717512,
        "saturate": 0.658248,
    }
)

#: AlexNet's clean ImageNet top-1 error (fraction), the baseline of relative mCE. REFERENCE.md marks
#: 0.4348 as approximate; it agrees with torchvision's AlexNet weights (IMAGENET1K_V1, the
#: checkpoint the reference ImageNet-C evaluation loads), whose documented top-1 accuracy is 56.522%
#: (error 0.43478). Relative mCE inherits that uncertainty in its fourth digit.
CLEAN_ERROR = 0.4348
