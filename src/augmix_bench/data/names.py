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

#: The 10 perturbations of CIFAR-10-P whose mean flip probability (mFP) is reported, in the order of
#: the reference CIFAR-P evaluation script.
CIFAR_PERTURBATIONS: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "motion_blur",
    "zoom_blur",
    "spatter",
    "brightness",
    "translate",
    "rotate",
    "tilt",
    "scale",
)

#: The 10 test perturbations of ImageNet-P (mFR, mT5D): as CIFAR-10-P but with snow in place of
#: spatter, which ImageNet-P holds out for validation (Hendrycks & Dietterich, 2019).
IMAGENET_PERTURBATIONS: tuple[str, ...] = tuple(
    "snow" if name == "spatter" else name for name in CIFAR_PERTURBATIONS
)

#: Noise perturbations: their frames are independent draws, so every frame is compared with the first
#: (the other perturbations are compared frame to frame).
NOISE_PERTURBATIONS: tuple[str, ...] = ("gaussian_noise", "shot_noise")

#: The ten corruptions of each -C-bar set (Mintun et al., 2021), in the order of the reference's csv
#: files (facebookresearch/augmentation-corruption, imagenet_c_bar/cifar10_c_bar.csv and
#: imagenet_c_bar.csv); ``corrupt/cbar.py`` holds their parameters. ``cifar``: CIFAR-10-C-bar,
#: ``imagenet``: ImageNet-C-bar.
CBAR_CORRUPTIONS: dict[str, tuple[str, ...]] = {
    "cifar": (
        "blue_noise_sample", "checkerboard_cutout", "inverse_sparkles", "pinch_and_twirl", "ripple",
        "brownish_noise", "circular_motion_blur", "lines", "sparkles", "transverse_chromatic_abberation",
    ),
    "imagenet": (
        "caustic_refraction", "inverse_sparkles", "sparkles", "perlin_noise", "blue_noise_sample",
        "plasma_noise", "checkerboard_cutout", "cocentric_sine_waves", "single_frequency_greyscale",
        "brownish_noise",
    ),
}
#: Every -C-bar corruption of either set, each once.
ALL_CBAR_CORRUPTIONS: tuple[str, ...] = tuple(dict.fromkeys(n for names in CBAR_CORRUPTIONS.values() for n in names))
