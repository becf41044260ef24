"""``augmix-corrupt``: build the -C set of a dataset from its config (a plain mapping; no Hydra here).

``corrupt.suite=c`` (default) builds -C as below; ``corrupt.suite=cbar`` builds -C-bar (the ten
corruptions of Mintun et al.'s CIFAR-10-C-bar / ImageNet-C-bar, ``corrupt.parameters`` or the image
size picking the set) in the same layouts, into ``CIFAR-10-C-Bar-seed<seed>`` /
``ImageNet-C-Bar-seed<seed>`` / ``DIR/corruptions_bar``.

* ``cifar10`` / ``cifar100``: the clean test set -> ``<root>/CIFAR-10-C-seed<seed>/`` (the loaders'
  ``<corruption>.npy`` + ``labels.npy`` layout), CIFAR parameters.
* ``imagenet``: ``<root>/<folder>/val`` with Resize(256) + CenterCrop(224) ->
  ``<root>/ImageNet-C-seed<seed>/<corruption>/<severity>/<wnid>/<file>`` (JPEG q85), ImageNet parameters.
* ``image_folder``: ``DIR/val/<class>/*`` (square, one size) -> ``DIR/corruptions/<corruption>/
  <severity>/<class>/<file>.png``, the CIFAR table up to 64 px and the ImageNet table above.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.cifar import CORRUPTED_BAR_FOLDERS, CORRUPTED_FOLDERS
from ..data.cifar_pickles import CIFAR_LAYOUTS, read_cifar
from ..data.imagenet import CORRUPTED_BAR_FOLDER as IMAGENET_CORRUPTED_BAR_FOLDER
from ..data.imagenet import CORRUPTED_FOLDER as IMAGENET_CORRUPTED_FOLDER
from ..data.names import CBAR_CORRUPTIONS, SEVERITIES
from ..errors import UserError, require_modules
from ..schema import ALL_CORRUPTIONS, CORRUPT_RULES, check
from ..files import check_folder
from ..corrupt.parameters import TABLES, table_for_side

#: The modules of the ``[corrupt]`` extra.
EXTRA_MODULES: tuple[str, ...] = ("scipy", "cv2")

log = logging.getLogger("augmix_bench")

#: The datasets ``augmix-corrupt`` accepts (``dataset.name``).
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet", "image_folder")
#: The layouts it writes, by the dataset config's ``_target_`` (or, in older configs, ``family``).
KINDS: dict[str, str] = {
    "augmix_bench.data.CifarBenchmark": "cifar",
    "augmix_bench.data.ImageNetBenchmark": "imagenet",
    "augmix_bench.data.ImageFolderBenchmark": "image_folder",
    "cifar": "cifar",
    "imagenet": "imagenet",
}


def dataset_kind(dataset: Mapping[str, Any]) -> str | None:
    """``cifar``, ``imagenet`` or ``image_folder`` for a dataset config, None for other datasets."""
    return KINDS.get(str(dataset.get("_target_", dataset.get("family"))))


def require_extra() -> None:
    """A ``UserError`` naming the modules that do not import unless the ``[corrupt]`` extra is installed."""
    require_modules("augmix-corrupt", "corrupt", EXTRA_MODULES)


def _options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The generation options of ``cfg``, checked by the schema's rules (as on the command line:
    ``corrupt.corruptions=null`` is all 19; an empty list or a name or severity given twice is refused)."""
    corrupt = cfg.get("corrupt") or {}
    suite = check("corrupt.suite", corrupt.get("suite", "c"), CORRUPT_RULES)
    corruptions = _as_list(corrupt.get("corruptions"))
    severities = _as_list(corrupt.get("severities", list(SEVERITIES)))
    check("corrupt.corruptions", corruptions, CORRUPT_RULES)
    check("corrupt.severities", severities, CORRUPT_RULES)
    if suite == "c":
        unknown = [n for n in corruptions or () if n not in ALL_CORRUPTIONS]
        if unknown:
            raise UserError(
                f"corrupt.corruptions: {unknown[0]!r} is not a -C corruption (corrupt.suite=c); "
                f"choose from: {', '.join(ALL_CORRUPTIONS)}, or pass corrupt.suite=cbar"
            )
    names = corruptions if corruptions is not None or suite == "cbar" else list(ALL_CORRUPTIONS)
    workers = corrupt.get("workers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise UserError(f"corrupt.workers must be a positive integer or null (all cores), got {workers!r}")
    table = corrupt.get("parameters")
    if table is not None and table not in TABLES:
        raise UserError(f"unknown corrupt.parameters {table!r}; choose from: {', '.join(TABLES)} (or null: by image size)")
    chunk_size = corrupt.get("chunk_size") or 250
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise UserError(f"corrupt.chunk_size must be a positive integer, got {chunk_size!r}")
    seed = cfg.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    return {"corruptions": names, "severities": sorted(severities), "workers": workers, "table": table, "seed": seed,
            "chunk_size": chunk_size, "suite": suite}


def cbar_names(asked: list[str] | None, table: str) -> list[str]:
    """The -C-bar corruptions to generate for set ``table``: all ten (``asked`` None) or ``asked``,
    each of which must belong to that set."""
    names = CBAR_CORRUPTIONS[table]
    for name in asked or ():
        if name not in names:
            raise UserError(
                f"corrupt.corruptions: {name!r} is not a corruption of the {table} -C-bar set; "
                f"choose from: {', '.join(names)}"
            )
    return list(names) if asked is None else list(asked)


def _as_list(value: Any) -> list[Any] | None:
    """A config list (a ``ListConfig`` too) as a plain list; anything else as it is, for the rule to refuse."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value


def _dataset(
    cfg: Mapping[str, Any], seed: int, suite: str = "c"
) -> tuple[str, Any, np.ndarray | None, Path, Path | None]:
    """(name, image source, labels, default output, released folder) of the configured dataset, for
    ``suite`` ``c`` (-C) or ``cbar`` (-C-bar)."""
    from ..corrupt.sources import ArraySource, folder_source, imagenet_source

    dataset = cfg["dataset"]
    name = dataset.get("name")
    kind = dataset_kind(dataset)
    root = Path(str(dataset["root"])).expanduser()
    if kind == "cifar" and dataset.get("variant") in CIFAR_LAYOUTS:
        variant = dataset["variant"]
        images, labels = read_cifar(root, variant, train=False)
        released = root / (CORRUPTED_BAR_FOLDERS if suite == "cbar" else CORRUPTED_FOLDERS)[variant]
        return name, ArraySource(images), labels, root / f"{released.name}-seed{seed}", released
    if kind == "imagenet":
        val = root / str(dataset.get("folder", "imagenet")) / "val"
        side, resize = int(dataset.get("image_size", 224)), int(dataset.get("resize_size", 256))
        source = imagenet_source(val, side, resize)
        released = root / (IMAGENET_CORRUPTED_BAR_FOLDER if suite == "cbar" else IMAGENET_CORRUPTED_FOLDER)
        return name, source, None, root / f"{released.name}-seed{seed}", released
    if kind == "image_folder":
        size = dataset.get("image_size")
        source = folder_source(root / "val", int(size) if size else None)
        return name, source, None, root / ("corruptions_bar" if suite == "cbar" else "corruptions"), None
    raise UserError(f"augmix-corrupt cannot corrupt dataset {name!r}; choose from: {', '.join(DATASETS)}")


def run_corrupt(cfg: Mapping[str, Any]) -> Path:
    """Generate the corruption set described by ``cfg`` (the composed ``corrupt.yaml`` as a plain,
    resolved mapping); returns the output folder."""
    require_extra()
    from ..corrupt.runner import Job, generate
    from ..corrupt.writers import ImageLayout, Manifest, NpyLayout

    options = _options(cfg)
    name, source, labels, default_output, released = _dataset(cfg, options["seed"], options["suite"])
    output = Path(str(cfg["output"])).expanduser() if cfg.get("output") else default_output
    if released is not None and output.resolve() == released.resolve():
        raise UserError(f"output={output} is the released {released.name} folder; choose another output=")
    check_folder(output, "output")
    table = table_for_side(source.side, options["table"])
    if options["suite"] == "cbar":
        options["corruptions"] = cbar_names(options["corruptions"], table)
    if options["suite"] == "c" and "frost" in options["corruptions"]:
        from ..corrupt.texture_download import ensure_frost_textures

        ensure_frost_textures(bool(cfg["dataset"].get("download", False)), progress=bool(cfg.get("progress", True)))
    if labels is not None:
        if options["severities"] != list(SEVERITIES):
            raise UserError("the CIFAR layout holds all 5 severities in every file; drop corrupt.severities")
        layout: Any = NpyLayout(output, len(source), source.side)
    else:
        layout = ImageLayout(output, source.relative, "JPEG" if dataset_kind(cfg["dataset"]) == "imagenet" else "PNG")
    settings = {
        "dataset": name,
        "images": len(source),
        "side": source.side,
        "parameters": table,
        "seed": options["seed"],
        "severities": options["severities"],
        **({"suite": "cbar"} if options["suite"] == "cbar" else {}),  # -C folders' manifests keep their settings
    }
    manifest = Manifest(output, settings)
    output.mkdir(parents=True, exist_ok=True)
    manifest.save()
    if labels is not None:
        layout.write_labels(labels)
    log.info(
        "%s: %d images of %d px, %s%s parameters, seed %d -> %s",
        name, len(source), source.side, table, " -C-bar" if options["suite"] == "cbar" else "", options["seed"], output,
    )
    generate(
        Job(source, layout, table, options["seed"], options["suite"]),
        options["corruptions"],
        options["severities"],
        manifest,
        workers=options["workers"],
        chunk_size=options["chunk_size"],
        progress=bool(cfg.get("progress", True)),
    )
    log.info("%d corruptions x %d severities ready in %s", len(options["corruptions"]), len(options["severities"]), output)
    return output

