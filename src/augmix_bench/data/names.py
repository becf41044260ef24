"""Names of the corruption and perturbation benchmarks, in the reference order (one source of truth)."""

#: The 15 corruptions of CIFAR-10-C / CIFAR-100-C / ImageNet-C that the mean corruption error uses.
CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)

#: The four held-out corruptions, released with the benchmarks but not part of mCE.
EXTRA_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")

#: Number of severities of every corruption.
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
