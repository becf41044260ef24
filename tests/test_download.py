"""Verified downloads against a local HTTP server on 127.0.0.1 serving archives built here."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from archive_server import ArchiveServer, md5, serve, tar_folder
from conftest import run_cli, write_cifar, write_cifar_c

from augmix_bench.data import CifarBenchmark
from augmix_bench.data.download import fetch, install_archive
from augmix_bench.data.sources import Archive
from augmix_bench.errors import UserError


@pytest.fixture()
def server() -> Iterator[ArchiveServer]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny CIFAR-10 .tar.gz and CIFAR-10-C .tar in the release layouts, with the test arrays."""
    source = tmp_path_factory.mktemp("source")
    test_x, test_y = write_cifar(source, "cifar10", n_train=30, n_test=10, seed=5)
    write_cifar_c(source / "CIFAR-10-C", test_x, test_y, seed=5)
    return {
        "clean": tar_folder(source / "cifar-10-batches-py", "cifar-10-batches-py", "gz"),
        "corrupted": tar_folder(source / "CIFAR-10-C", "CIFAR-10-C"),
        "test_x": test_x,
        "test_y": test_y,
        "fog": np.load(source / "CIFAR-10-C" / "fog.npy"),
    }


def leftovers(root: Path) -> list[str]:
    """Everything under ``root`` (temporary folders and downloads included), as relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_good_archives_unpack(server: ArchiveServer, archives: dict, tmp_path: Path) -> None:
    root = tmp_path / "data"
    benchmark = CifarBenchmark(
        root,
        url=server.add("c10.tar.gz", archives["clean"]),
        md5=md5(archives["clean"]),
        corruptions_url=server.add("CIFAR-10-C.tar", archives["corrupted"]),
        corruptions_md5=md5(archives["corrupted"]).upper(),
    )
    benchmark.prepare(["clean", "corruptions"], download=True, progress=False)
    images, labels = benchmark._test
    np.testing.assert_array_equal(images, archives["test_x"])
    np.testing.assert_array_equal(labels, archives["test_y"])
    fog = benchmark.corrupted_set("fog", 3)
    np.testing.assert_array_equal(fog.images, archives["fog"][20:30])
    # only the two dataset folders remain: no archive, .part, staging or downloads folder
    assert sorted(p.name for p in root.iterdir()) == ["CIFAR-10-C", "cifar-10-batches-py"]
    assert [r[1] for r in server.state.requests] == [None, None]


def test_wrong_md5_is_refused_and_leaves_no_dataset(
    server: ArchiveServer, archives: dict, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    url = server.add("CIFAR-10-C.tar", archives["corrupted"])
    benchmark = CifarBenchmark(root, corruptions_url=url, corruptions_md5="0" * 32)
    with pytest.raises(UserError) as info:
        benchmark.prepare(["corruptions"], download=True, progress=False)
    message = str(info.value)
    assert message == (
        f"checksum did not match for {url}: expected md5 {'0' * 32}, found {md5(archives['corrupted'])}; "
        "the download was deleted"
    )
    assert "\n" not in message
    assert leftovers(root) == []


def test_interrupted_download_resumes_with_range(
    server: ArchiveServer, archives: dict, tmp_path: Path
) -> None:
    data = archives["corrupted"]
    url = server.add("CIFAR-10-C.tar", data)
    server.state.drops, server.state.drop_after = 1, 300_000
    root = tmp_path / "data"
    benchmark = CifarBenchmark(root, corruptions_url=url, corruptions_md5=md5(data))
    benchmark.prepare(["corruptions"], download=True, progress=False)
    assert server.state.requests == [("CIFAR-10-C.tar", None), ("CIFAR-10-C.tar", "bytes=300000-")]
    np.testing.assert_array_equal(np.load(root / "CIFAR-10-C" / "fog.npy"), archives["fog"])


def test_download_left_unfinished_resumes_on_the_next_run(server: ArchiveServer, tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(200_000)
    url = server.add("blob.bin", data)
    target = tmp_path / "downloads" / "blob.bin"
    server.state.drops, server.state.drop_after = 2, 70_000
    with pytest.raises(UserError, match=r"failed after 2 attempts: .*blob\.bin\.part keeps the 140000 bytes"):
        fetch(url, target, progress=False, retries=1)  # both attempts are cut after 70000 bytes
    part = target.with_name("blob.bin.part")
    assert part.read_bytes() == data[:140_000] and not target.exists()
    fetch(url, target, progress=False, retries=0)
    assert server.state.requests == [
        ("blob.bin", None),
        ("blob.bin", "bytes=70000-"),
        ("blob.bin", "bytes=140000-"),
    ]
    assert target.read_bytes() == data and not part.exists()


def test_server_ignoring_range_restarts_the_file(server: ArchiveServer, tmp_path: Path) -> None:
    data = b"0123456789" * 1000
    url = server.add("blob.bin", data)
    server.state.honour_range = False
    target = tmp_path / "blob.bin"
    target.with_name("blob.bin.part").write_bytes(b"stale bytes")
    fetch(url, target, progress=False, retries=0)
    assert server.state.requests == [("blob.bin", "bytes=11-")]
    assert target.read_bytes() == data


def test_complete_part_is_accepted_on_416(server: ArchiveServer, tmp_path: Path) -> None:
    data = b"abc" * 100
    url = server.add("blob.bin", data)
    target = tmp_path / "blob.bin"
    target.with_name("blob.bin.part").write_bytes(data)
    fetch(url, target, progress=False, retries=0)
    assert target.read_bytes() == data


def test_http_error_is_one_line(server: ArchiveServer, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^download of http://127\.0\.0\.1:\d+/absent\.tar failed: HTTP 404"):
        fetch(server.url("absent.tar"), tmp_path / "absent.tar", progress=False)


def tar_with(members: list[tarfile.TarInfo], payload: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            if member.isfile():
                member.size = len(payload)
                tar.addfile(member, io.BytesIO(payload))
            else:
                tar.addfile(member)
    return buffer.getvalue()


def link(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.SYMTYPE, target
    return member


@pytest.mark.parametrize(
    ("member", "refusal"),
    [
        (tarfile.TarInfo("CIFAR-10-C/../../evil.txt"), "points outside the unpacking folder"),
        (tarfile.TarInfo("/tmp/evil.txt"), "points outside the unpacking folder"),
        (link("CIFAR-10-C/labels.npy", "/etc/passwd"), "only regular files and folders are unpacked"),
    ],
)
def test_unsafe_members_are_refused(
    server: ArchiveServer, tmp_path: Path, member: tarfile.TarInfo, refusal: str
) -> None:
    data = tar_with([tarfile.TarInfo("CIFAR-10-C/fog.npy"), member])
    archive = Archive(server.add("evil.tar", data), md5(data), ("CIFAR-10-C",))
    root = tmp_path / "root" / "data"
    with pytest.raises(UserError, match=f"refusing member {member.name!r}.*{refusal}"):
        install_archive(archive, root, root / "downloads", progress=False)
    assert not (tmp_path / "root" / "evil.txt").exists() and not (root / "CIFAR-10-C").exists()
    assert [p.name for p in root.iterdir()] == ["downloads"]  # the verified archive stays for inspection


def test_archive_without_the_expected_folder_is_refused(server: ArchiveServer, tmp_path: Path) -> None:
    data = tar_with([tarfile.TarInfo("something-else/fog.npy")])
    archive = Archive(server.add("other.tar", data), md5(data), ("CIFAR-10-C",))
    with pytest.raises(
        UserError, match="expected the folder.s. CIFAR-10-C in the archive, found something-else"
    ):
        install_archive(archive, tmp_path, tmp_path / "downloads", progress=False)
    assert not (tmp_path / "CIFAR-10-C").exists()


def test_archive_without_top_level_folder_wrapper(server: ArchiveServer, tmp_path: Path) -> None:
    """Archives that wrap the expected folders in one more folder (as some mirrors do) unpack too."""
    data = tar_with([tarfile.TarInfo("ImageNet-C/gaussian_noise/1/n0/a.JPEG")], b"jpeg")
    archive = Archive(server.add("noise.tar", data), md5(data), ("gaussian_noise",))
    install_archive(archive, tmp_path / "ImageNet-C", tmp_path / "downloads", progress=False)
    assert (tmp_path / "ImageNet-C" / "gaussian_noise" / "1" / "n0" / "a.JPEG").read_bytes() == b"jpeg"


@pytest.mark.e2e
def test_augmix_download_cli(server: ArchiveServer, archives: dict, tmp_path: Path) -> None:
    root = tmp_path / "data"
    args = [
        "dataset=cifar10",
        "parts=[clean,corruptions]",
        f"dataset.root={root}",
        f"dataset.url={server.add('c10.tar.gz', archives['clean'])}",
        f"dataset.md5={md5(archives['clean'])}",
        f"dataset.corruptions_url={server.add('CIFAR-10-C.tar', archives['corrupted'])}",
        f"dataset.corruptions_md5={md5(archives['corrupted'])}",
        "progress=false",
    ]
    result = run_cli("augmix-download", *args, cwd=tmp_path)
    assert "cifar10 clean, corruptions ready in" in result.stdout
    assert sorted(p.name for p in root.iterdir()) == ["CIFAR-10-C", "cifar-10-batches-py"]
    # a second run finds everything on disk and fetches nothing
    run_cli("augmix-download", *args, cwd=tmp_path)
    assert len(server.state.requests) == 2

    bad = run_cli(
        "augmix-download",
        *args[:2],
        f"dataset.root={tmp_path / 'other'}",
        *args[3:5],
        "dataset.md5=" + "f" * 32,
        "progress=false",
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("augmix-download: error: checksum did not match for http://127.0.0.1:")
    assert f"expected md5 {'f' * 32}, found {md5(archives['clean'])}" in bad.stderr
    assert not (tmp_path / "other" / "cifar-10-batches-py").exists()
