"""Image files: folders of PNG/JPEG images (one sub-folder per class, or a ``filename,label`` manifest)."""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from mnistlab.datasets.dataset import MAX_INFERRED_CLASSES, check_class_names, class_name, index_class_names
from mnistlab.datasets.decode import decode_gray
from mnistlab.datasets.preprocess import PHOTO_MAX_SIDE, check_preprocess, to_28x28
from mnistlab.errors import DataFormatError
from mnistlab.fileio import open_regular, read_table_rows, write_table, writing

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
MANIFEST_NAME = "labels.csv"


COLOUR_MODES = {"RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}  # stored in colour (or a palette)


def read_image(path: str | Path, preprocess: str = "none", info: dict | None = None) -> np.ndarray:
    """Read one image as 28x28 uint8 grayscale (:func:`~mnistlab.datasets.decode.decode_gray`), made 28x28 by the
    rule ``preprocess`` (:data:`~mnistlab.datasets.preprocess.PREPROCESSING`: other sizes are refused by
    ``"none"``); ``info`` receives the file's own size and mode."""
    max_side = None if preprocess == "none" else PHOTO_MAX_SIDE
    return to_28x28(decode_gray(path, max_side, info=info), preprocess, str(path))


def read_images(
    paths: Sequence[str | Path], preprocess: str = "none", originals: dict | None = None
) -> np.ndarray:
    """Decode many images into one (N, 28, 28) array (a plain loop: threads measured slower, the work holds the
    GIL). ``originals``, when given, receives each file's own ``width``, ``height`` and ``colour`` (stored in
    colour or a palette) as arrays."""
    check_preprocess(preprocess)
    out = np.empty((len(paths), 28, 28), np.uint8)
    sizes, colour = np.zeros((len(paths), 2), np.int64), np.zeros(len(paths), bool)
    info: dict = {}
    for i, path in enumerate(paths):
        out[i] = read_image(path, preprocess, info)
        sizes[i], colour[i] = info["size"], info["mode"] in COLOUR_MODES
    if originals is not None:
        originals.update(width=sizes[:, 0], height=sizes[:, 1], colour=colour)
    return out


def read_image_folder(
    root: str | Path,
    classes: Sequence[str] | None = None,
    preprocess: str = "none",
    originals: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a folder of images: ``root/labels.csv`` (``filename,label``) if present, else one sub-folder per class.

    Returns images, labels and the class names. With a manifest, images keep the manifest's order. ``originals``,
    when given, receives the files' own sizes and colour (:func:`read_images`).

    The class-folder rules (no silent class, no silent drop):

    - hidden entries (``.ipynb_checkpoints/``, ``.DS_Store``, macOS ``._x.png`` resource forks) and the junk
      that file systems and archivers leave (:data:`JUNK_NAMES`: ``__MACOSX/``, ``Thumbs.db``...) are skipped;
    - a sub-folder without images is not a class: a warning names it (with ``classes`` named, the class stays,
      with no image);
    - files at the top level are not read (a README is fine); images there, and files inside class folders that
      are not PNG/JPEG/BMP images, are counted and named in one warning;
    - sub-folders named ``train`` and ``test`` are splits, not classes: refused, naming the way to read them.
    """
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        return _read_manifest(root, root.parent, classes, preprocess, originals)
    if not root.is_dir():
        raise DataFormatError(f"{root}: not a folder of images or a filename,label CSV manifest")
    if (root / MANIFEST_NAME).is_file():
        return _read_manifest(root / MANIFEST_NAME, root, classes, preprocess, originals)
    folders = sorted((p for p in _visible(root) if p.is_dir()), key=lambda p: _natural_key(p.name))
    if not folders:
        raise DataFormatError(
            f"{root}: no class sub-folders and no {MANIFEST_NAME}; expected one sub-folder of images per class"
        )
    if classes is None:
        refuse_splits(root, folders)
    found = {folder.name: _class_files(folder) for folder in folders}
    images_per_folder = {name: files for name, (files, _) in found.items()}
    empty = [name for name, files in images_per_folder.items() if not files]
    if classes is None:  # in NFC: two folders of one name in two Unicode forms are refused, not two classes
        names = check_class_names([name for name, files in images_per_folder.items() if files], str(root))
    else:
        names = check_class_names(classes, "classes")
        unknown = [name for name in images_per_folder if class_name(name) not in names]
        if unknown:
            raise DataFormatError(f"{root}: sub-folder {unknown[0]!r} is not one of the classes {names}")
    if not any(images_per_folder.values()):
        raise DataFormatError(f"{root}: the class sub-folders hold no PNG, JPEG or BMP images")
    _refuse_links_out(root, images_per_folder)
    _warn_left_out(root, empty, [p for p in _visible(root) if p.is_file()], found, classes is None)
    paths, labels = [], []
    for name, files in images_per_folder.items():
        if not files:
            continue
        paths += files
        labels += [names.index(class_name(name))] * len(files)
    return read_images(paths, preprocess, originals), np.asarray(labels, np.int64), names


# Left by operating systems, archivers, notebooks and NAS boxes; never a class and never an image.
JUNK_NAMES = frozenset(
    {
        "__MACOSX",
        "__pycache__",
        "@eaDir",
        "$RECYCLE.BIN",
        "System Volume Information",
        "Thumbs.db",
        "desktop.ini",
    }
)
TRAIN_SPLITS = ("train", "training")
HELD_OUT_SPLITS = ("test", "testing", "val", "valid", "validation")  # in the order the test data is chosen


def _visible(folder: Path) -> list[Path]:
    """The entries of ``folder`` that can be data: not hidden (a leading dot), not :data:`JUNK_NAMES`."""
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in JUNK_NAMES]


def _class_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The images of one class folder in natural order, and the other visible entries it holds."""
    entries = sorted(_visible(folder), key=lambda p: _natural_key(p.name))
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir()]  # a FIFO: refused
    return images, [p for p in entries if p not in images]


def refuse_splits(root: Path, folders: list[Path]) -> None:
    """Sub-folders named after splits (train/test) are two data sets, not two classes: refused, naming how to
    read them.

    Examples
    --------
    >>> refuse_splits(Path("digits"), [Path("digits/0"), Path("digits/1")])  # classes: fine
    """
    names = {p.name.lower(): p.name for p in folders}
    train = next((names[k] for k in TRAIN_SPLITS if k in names), None)
    test = next((names[k] for k in HELD_OUT_SPLITS if k in names), None)
    if train and test and names.keys() <= {*TRAIN_SPLITS, *HELD_OUT_SPLITS}:
        raise DataFormatError(
            f"{root}: its sub-folders {sorted(names.values())} look like splits, not classes: read "
            f"{root / train} as the training data and {root / test} as the test data (on the command line: "
            f"--data {root / train} --test {root / test})"
        )


def _warn_left_out(root: Path, empty: list[str], top_files: list[Path], found: dict, inferred: bool) -> None:
    """One warning for each kind of thing a class-folder read leaves out, naming what it left out."""
    if empty:
        what = "is not a class" if inferred else "gives a class with no image"
        warnings.warn(
            f"{root}: sub-folder{'s' if len(empty) > 1 else ''} {', '.join(map(repr, empty[:8]))} "
            f"{'hold' if len(empty) > 1 else 'holds'} no PNG, JPEG or BMP image and {what}"
            + (" (classes were named)" if not inferred else ""),
            stacklevel=4,
        )
    stray = [p.name for p in top_files if p.suffix.lower() in IMAGE_SUFFIXES]
    if stray:
        warnings.warn(
            f"{root}: {len(stray)} image{'s' if len(stray) > 1 else ''} at the top level "
            f"({_some(stray)}) belong to no class sub-folder and {'are' if len(stray) > 1 else 'is'} not read",
            stacklevel=4,
        )
    others = [
        f"{name}/{p.name}" + ("/" if p.is_dir() else "") for name, (_, rest) in found.items() for p in rest
    ]
    if others:
        warnings.warn(
            f"{root}: {len(others)} entr{'ies' if len(others) > 1 else 'y'} in the class sub-folders "
            f"{'are' if len(others) > 1 else 'is'} not a PNG, JPEG or BMP image and {'are' if len(others) > 1 else 'is'} "
            f"not read: {_some(others)}",
            stacklevel=4,
        )


def _some(names: list[str], at_most: int = 5) -> str:
    return ", ".join(names[:at_most]) + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


def _read_manifest(
    manifest: Path, root: Path, classes: Sequence[str] | None, preprocess: str, originals: dict | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    body = _manifest_rows(manifest)
    raw_labels = [class_name(row[1].strip()) for row in body]  # "é" in either Unicode form: one class
    names = (
        check_class_names(classes, "classes") if classes is not None else _infer_classes(raw_labels, manifest)
    )
    labels = np.empty(len(body), np.int64)
    for i, value in enumerate(raw_labels):
        labels[i] = _label_index(value, names, manifest, i + 2)
    return read_images(_paths_inside(root, body, manifest), preprocess, originals), labels, names


def _manifest_rows(manifest: Path) -> list[list[str]]:
    """The ``filename,label`` rows below the header (cells as write_table was given them), each checked as it is
    read: a bad row (a blank line before millions more) fails there, before the rows after it take memory."""
    body: list[list[str]] = []
    try:
        raw = open_regular(manifest, "a filename,label CSV manifest")
        with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as f:  # -sig: a BOM from Excel is fine
            reader = read_table_rows(f)
            if [c.strip().lower() for c in next(reader, [])] != ["filename", "label"]:
                raise DataFormatError(f"{manifest}: expected a header 'filename,label'")
            for row in reader:
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    raise DataFormatError(
                        f"{manifest}: line {reader.line_num}: expected 'filename,label', "  # type: ignore[attr-defined]
                        f"got {','.join(row)[:80]!r}"
                    )
                body.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"{manifest}: cannot read the manifest ({exc})") from None
    if not body:
        raise DataFormatError(f"{manifest}: the manifest lists no images")
    return body


def _paths_inside(root: Path, body: list[list[str]], manifest: Path) -> list[str]:
    """The image paths of a manifest, each refused if it leaves the folder (``../``, absolute paths, links)."""
    inside = root.resolve()
    # A name listed here is a regular file (not a link) right in the folder: inside by construction. Only the
    # other names are resolved, which would otherwise cost more than decoding the 28x28 images themselves.
    plain = {entry.name for entry in os.scandir(root) if entry.is_file(follow_symlinks=False)}
    paths = []
    for line, row in enumerate(body, start=2):
        name = row[0].strip()
        path = os.path.join(root, name)
        if name not in plain and leaves(path, inside):
            raise DataFormatError(
                f"{manifest}: line {line}: {name!r} is outside {root}; a manifest names "
                "images inside its own folder"
            )
        paths.append(path)
    return paths


def leaves(path: str | Path, inside: Path) -> bool:
    """Whether ``path``, every link on the way followed, is outside the folder ``inside`` (a resolved path): the
    one rule of both image-folder layouts, a manifest's names and a class folder's files alike. A loop of links
    leads nowhere inside.

    Examples
    --------
    >>> leaves("/data/digits/../secrets.png", Path("/data/digits"))
    True
    """
    try:
        return not Path(path).resolve().is_relative_to(inside)
    except (OSError, RuntimeError):  # a loop of links (RuntimeError before Python 3.13)
        return True


def _refuse_links_out(root: Path, images_per_folder: dict[str, list[Path]]) -> None:
    """Class folders are read as a manifest is: every image is a file inside ``root``. A link (of a class folder
    or of an image) to anything outside it is refused, naming it; links that stay inside are fine. Only links are
    resolved: a plain file in a plain folder is inside by construction."""
    inside = root.resolve()
    for name, files in images_per_folder.items():
        folder = root / name
        if folder.is_symlink() and files and leaves(folder, inside):
            raise DataFormatError(
                f"{root}: class folder {name!r} is a link to {os.path.realpath(folder)}, outside {root}; the "
                "images of a data folder are inside it (copy them in)"
            )
        for path in files:
            if path.is_symlink() and leaves(path, inside):
                raise DataFormatError(
                    f"{root}: {name}/{path.name} is a link to {os.path.realpath(path)}, outside {root}; the "
                    "images of a data folder are inside it (copy it in)"
                )


def _infer_classes(raw_labels: list[str], manifest: Path) -> list[str]:
    if all(v.isdigit() for v in raw_labels):
        numbers = np.array([int(v) if len(v) < 10 else MAX_INFERRED_CLASSES for v in raw_labels])
        return index_class_names(numbers, str(manifest), line_offset=2)
    return sorted(set(raw_labels), key=_natural_key)


def _label_index(value: str, names: list[str], manifest: Path, line: int) -> int:
    if value in names:
        return names.index(value)
    if value.isdigit() and int(value) < len(names):
        return int(value)
    raise DataFormatError(f"{manifest}: line {line}: label {value!r} is not one of the classes {names}")


def _natural_key(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)


def write_image_folder(
    root: str | Path, images: np.ndarray, labels: np.ndarray | None, classes: Sequence[str]
) -> None:
    """Write ``root/00000.png ...`` and a ``labels.csv`` manifest (class names as labels) that keeps the order.

    The folder is written beside ``root`` under a temporary name and renamed into place when complete: a full
    disk or an interruption leaves the old folder (or none), never a half-written one."""
    root = Path(root)
    staging = root.with_name(f".{root.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with writing(root, staging):  # a full disk or a file-size limit: a WriteError naming root
            root.parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
            width = max(5, len(str(len(images) - 1)))
            names = [f"{i:0{width}d}.png" for i in range(len(images))]
            for image, name in zip(images, names, strict=True):
                Image.fromarray(image).save(
                    staging / name, compress_level=1
                )  # fast zlib level: 28x28 files stay tiny
            if labels is not None:
                rows = zip(names, (classes[k] for k in labels), strict=True)
                write_table(staging / MANIFEST_NAME, rows, ["filename", "label"])
            _swap_into_place(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, root: Path) -> None:
    """Rename the complete ``staging`` folder to ``root``; an old ``root`` is moved aside first, removed after."""
    if not root.exists():
        os.rename(staging, root)
        return
    old = root.with_name(f".{root.name}.{os.getpid()}-{secrets.token_hex(4)}.old")
    os.rename(root, old)
    try:
        os.rename(staging, root)
    except OSError:
        os.rename(old, root)  # put the old folder back
        raise
    shutil.rmtree(old, ignore_errors=True)
