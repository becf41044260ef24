"""Fetching the frost textures: a wheel-shaped zip built here, served on 127.0.0.1, holding
real-format stand-in textures (PNG and JPEG) whose md5s replace the original table for the test."""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from archive_server import ArchiveServer, serve
from omegaconf import OmegaConf
from PIL import Image

from augmix_bench.corrupt import textures
from augmix_bench.commands.corrupt import run_corrupt
from augmix_bench.corrupt.texture_download import ensure_frost_textures, fetch_frost_textures
from augmix_bench.corrupt.textures import TextureArchive
from augmix_bench.errors import UserError

WHEEL = "packages/ab/cd/imagecorruptions-1.1.2-py3-none-any.whl"
NAMES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")
SIZES = ((180, 200), (176, 190), (176, 190), (184, 210), (190, 220))  # (height, width), > 160 px


def _standins() -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """Encoded files and the RGB arrays they were made from (exact for the PNGs)."""
    rng = np.random.default_rng(7)
    files, arrays = {}, {}
    for name, (height, width) in zip(NAMES, SIZES):
        rgb = np.kron(rng.integers(0, 256, (height // 2, width // 2, 3), dtype=np.uint8), np.ones((2, 2, 1), np.uint8))
        ok, encoded = cv2.imencode(name[-4:], np.ascontiguousarray(rgb[..., ::-1]))
        assert ok
        files[name], arrays[name] = encoded.tobytes(), rgb
    return files, arrays


def _wheel(files: dict[str, bytes]) -> bytes:
    """A zip laid out as the imagecorruptions wheel: the package, the six textures."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr("imagecorruptions/__init__.py", "")
        for name, data in files.items():
            wheel.writestr(f"imagecorruptions/frost/{name}", data)
        wheel.writestr("imagecorruptions/frost/frost6.jpg", b"never used")
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def server() -> Iterator[ArchiveServer]:
    with serve() as running:
        yield running


@pytest.fixture()
def standins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict:
    """Stand-in textures whose md5s are the expected ones; $AUGMIX_CACHE in tmp_path."""
    files, arrays = _standins()
    monkeypatch.setattr(textures, "FROST_FILES", tuple((n, hashlib.md5(files[n]).hexdigest()) for n in NAMES))
    monkeypatch.setenv("AUGMIX_CACHE", str(tmp_path / "cache"))
    wheel = _wheel(files)
    return {"files": files, "arrays": arrays, "wheel": wheel, "folder": tmp_path / "cache" / "frost"}


def _archive(server: ArchiveServer, data: bytes, sha256: str | None = None) -> TextureArchive:
    return TextureArchive(server.add(WHEEL, data), sha256 or _sha256(data), "imagecorruptions/frost")


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_fetch_keeps_the_five_checked_textures_only_and_runs_once(server: ArchiveServer, standins: dict) -> None:
    archive = _archive(server, standins["wheel"])
    folder = standins["folder"]
    assert fetch_frost_textures(progress=False, archive=archive) == folder
    assert _contents(folder) == standins["files"]  # no wheel, no .part, no frost6.jpg
    loaded = textures.frost_textures(1.0)
    assert [t.shape for t in loaded] == [(h, w, 3) for h, w in SIZES]
    for k in range(3):  # the PNGs decode to the arrays they were made from, in RGB order
        np.testing.assert_array_equal(loaded[k], standins["arrays"][NAMES[k]])
    assert [t.shape[:2] for t in textures.frost_textures(0.2)] == [(36, 40), (35, 38), (35, 38), (37, 42), (38, 44)]
    assert server.state.requests == [(WHEEL, None)]
    assert fetch_frost_textures(progress=False, archive=archive) == folder
    assert ensure_frost_textures(download=True) == folder  # the default (real) source is never asked
    assert len(server.state.requests) == 1  # all five there: nothing fetched again


def test_a_wrong_archive_checksum_is_refused_in_one_line(server: ArchiveServer, standins: dict) -> None:
    archive = _archive(server, standins["wheel"], sha256="0" * 64)
    with pytest.raises(UserError) as info:
        fetch_frost_textures(progress=False, archive=archive)
    assert str(info.value) == (
        f"checksum did not match for {archive.url}: expected sha256 {'0' * 64}, "
        f"found {_sha256(standins['wheel'])}; the download was deleted"
    )
    assert not standins["folder"].exists()  # the folder it made is gone again


def test_an_altered_texture_in_the_archive_is_refused_in_one_line(server: ArchiveServer, standins: dict) -> None:
    altered = dict(standins["files"], **{"frost2.png": standins["files"]["frost3.png"][:-1] + b"x"})
    archive = _archive(server, _wheel(altered))
    with pytest.raises(UserError) as info:
        fetch_frost_textures(progress=False, archive=archive)
    expected = dict(textures.FROST_FILES)["frost2.png"]
    assert str(info.value) == (
        f"imagecorruptions/frost/frost2.png of {archive.url} is not the original frost texture "
        f"(md5 {hashlib.md5(altered['frost2.png']).hexdigest()}, expected {expected})"
    )
    assert _contents(standins["folder"]) == {"frost1.png": standins["files"]["frost1.png"]}  # checked, kept


def test_an_interrupted_download_resumes_and_a_whole_one_is_reused(server: ArchiveServer, standins: dict) -> None:
    archive = _archive(server, standins["wheel"])
    folder = standins["folder"]
    folder.mkdir(parents=True)
    half = len(standins["wheel"]) // 2
    (folder / (Path(WHEEL).name + ".part")).write_bytes(standins["wheel"][:half])  # left by a killed run
    fetch_frost_textures(progress=False, archive=archive)
    assert server.state.requests == [(WHEEL, f"bytes={half}-")]
    assert _contents(folder) == standins["files"]
    for path in folder.iterdir():
        path.unlink()
    (folder / Path(WHEEL).name).write_bytes(standins["wheel"])  # downloaded whole, not yet unpacked
    fetch_frost_textures(progress=False, archive=archive)
    assert len(server.state.requests) == 1 and _contents(folder) == standins["files"]


def test_textures_placed_by_hand_are_checked_and_kept(server: ArchiveServer, standins: dict) -> None:
    archive = _archive(server, standins["wheel"])
    folder = standins["folder"]
    folder.mkdir(parents=True)
    for name in NAMES:
        (folder / name).write_bytes(standins["files"][name])
    assert ensure_frost_textures(download=False) == folder
    np.testing.assert_array_equal(textures.frost_textures(1.0)[1], standins["arrays"]["frost2.png"])
    (folder / "frost4.jpg").unlink()
    (folder / "frost5.jpg").unlink()
    before = (folder / "frost1.png").stat().st_mtime_ns
    fetch_frost_textures(progress=False, archive=archive)  # only the two missing ones come from the archive
    assert _contents(folder) == standins["files"] and (folder / "frost1.png").stat().st_mtime_ns == before
    (folder / "frost3.png").write_bytes(b"not a texture")
    line = (
        f"{folder / 'frost3.png'} is not the original frost texture (md5 {hashlib.md5(b'not a texture').hexdigest()}, "
        f"expected {dict(textures.FROST_FILES)['frost3.png']}); delete it and fetch the textures again with "
        "`python -m augmix_bench.corrupt.texture_download`"
    )
    for attempt in (lambda: fetch_frost_textures(progress=False, archive=archive), lambda: ensure_frost_textures(False)):
        with pytest.raises(UserError) as info:
            attempt()
        assert str(info.value) == line
    assert (folder / "frost3.png").read_bytes() == b"not a texture" and len(server.state.requests) == 1


def test_missing_textures_are_one_line_naming_folder_url_and_command(standins: dict) -> None:
    folder = standins["folder"]
    line = (
        f"the frost textures frost1.png, frost2.png, frost3.png, frost4.jpg, frost5.jpg are missing from {folder}; "
        "fetch them with `python -m augmix_bench.corrupt.texture_download` (or augmix-corrupt ... "
        f"dataset.download=true), a verified download of {textures.TEXTURE_WHEEL.url}, or copy the original "
        "files there by hand (AUGMIX_CACHE=DIR reads DIR/frost)"
    )
    for attempt in (lambda: ensure_frost_textures(download=False), lambda: textures.frost_textures(0.2)):
        with pytest.raises(UserError) as info:
            attempt()
        assert str(info.value) == line and "\n" not in line
    assert not folder.exists()


def test_the_published_source_is_pinned() -> None:
    wheel = textures.TEXTURE_WHEEL
    assert wheel.url == (
        "https://files.pythonhosted.org/packages/3e/40/ff4a79ad7ab6463fe2fde7912b71084a6606e33676078a50b40a3377112b/"
        "imagecorruptions-1.1.2-py3-none-any.whl"
    )
    assert wheel.sha256 == "d0e4bf529ba6fbb27d8aba1bde7c5db43bf2b969b2c767c11419e939e3e365b8"
    assert wheel.folder == "imagecorruptions/frost"


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUGMIX_CACHE", str(tmp_path / "mine"))
    assert textures.frost_folder() == tmp_path / "mine" / "frost"
    monkeypatch.delenv("AUGMIX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert textures.frost_folder() == tmp_path / "xdg" / "augmix-bench" / "frost"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert textures.frost_folder() == tmp_path / "home" / ".cache" / "augmix-bench" / "frost"


def _folder_config(root: Path, download: bool) -> OmegaConf:
    dataset = {"name": "image_folder", "_target_": "augmix_bench.data.ImageFolderBenchmark", "root": str(root),
               "download": download}
    return OmegaConf.to_container(OmegaConf.create({
        "dataset": dataset, "output": None, "seed": 0, "progress": False,
        "corrupt": {"workers": 1, "corruptions": ["frost"], "severities": [1]},
    }))


def test_augmix_corrupt_fetches_them_with_dataset_download(
    server: ArchiveServer, standins: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "images"
    rng = np.random.default_rng(4)
    for k, label in enumerate(("cat", "dog")):
        (root / "val" / label).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / "val" / label / f"img{k}.png")
    monkeypatch.setattr(textures, "TEXTURE_WHEEL", _archive(server, standins["wheel"]))
    with pytest.raises(UserError, match=r"^the frost textures frost1.png, .* are missing from "):
        run_corrupt(_folder_config(root, download=False))
    assert sorted(os.listdir(root)) == ["val"] and not server.state.requests  # refused before any work
    out = run_corrupt(_folder_config(root, download=True))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["frost/1/cat/img0.png", "frost/1/dog/img1.png"]
    assert _contents(standins["folder"]) == standins["files"] and len(server.state.requests) == 1
    clean = np.asarray(Image.open(root / "val" / "cat" / "img0.png")).astype(int)
    frosted = np.asarray(Image.open(out / "frost" / "1" / "cat" / "img0.png")).astype(int)
    assert (frosted >= clean).all() and (frosted > clean).mean() > 0.9  # 1 x image + 0.4 x a texture crop
    assert "imagecorruptions" not in sys.modules
