"""What ``mnistlab data info`` shows about a data set: sizes, class counts, pixel statistics, ink polarity,
checksums."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mnistlab.datasets.cache import FileStatus
from mnistlab.datasets.ink import InkProfile, ink_profile
from mnistlab.datasets.loading import load_splits
from mnistlab.datasets.registered import cache_source, cache_status
from mnistlab.datasets.registry import DatasetInfo, get_info
from mnistlab.datasets.sources import fingerprint, resolve


@dataclass(frozen=True)
class DatasetSummary:
    """What ``mnistlab data info`` shows: per-split class counts, pixel statistics, ink polarity
    (:class:`~mnistlab.datasets.ink.InkProfile`), content checksums, and for a registered data set its record,
    source and file checks."""

    name: str
    description: str
    classes: list[str]
    kind: str | None
    source: str
    class_counts: dict[str, list[int] | None]  # split -> images per class (None: unlabelled)
    pixel_stats: dict[str, tuple[float, float]]  # split -> (mean, std) on the 0..255 scale
    sizes: dict[str, int]
    content_sha256: dict[str, str]  # split -> sha256 of images and labels, whatever file format held them
    info: DatasetInfo | None = None
    files: dict[str, FileStatus] | None = None
    ink: dict[str, InkProfile] | None = None  # split -> polarity, background and ink amount


def summary(
    spec: str | Path,
    home: Path | None = None,
    label_column: str | None = None,
    drop_columns: Sequence[str] | None = None,
) -> DatasetSummary:
    """Summarise a registered data set (all splits, checksums re-hashed in full) or a file or folder (a CSV's
    ``label_column`` and ``drop_columns`` as for :func:`~mnistlab.datasets.from_csv`).

    Examples
    --------
    >>> s = summary("mnist")  # doctest: +SKIP
    >>> s.sizes  # doctest: +SKIP
    {'train': 60000, 'test': 10000}
    """
    splits = load_splits(spec, label_column=label_column, drop_columns=drop_columns)
    first = next(iter(splits.values()))
    registered = resolve(spec).registered
    info = get_info(str(spec)) if registered else None
    return DatasetSummary(
        name=first.name,
        description=info.description if info else f"{first.source} ({resolve(spec).format})",
        classes=first.classes,
        kind=first.kind,
        source=cache_source(str(spec), home) if info else first.source,
        class_counts={
            s: ds.class_counts().tolist() if ds.labels is not None else None for s, ds in splits.items()
        },
        pixel_stats={split: ds.pixel_stats() for split, ds in splits.items()},
        sizes={split: len(ds) for split, ds in splits.items()},
        content_sha256={split: fingerprint(ds) for split, ds in splits.items()},
        info=info,
        files=cache_status(str(spec), home, rehash=True) if info else None,
        ink={split: ink_profile(ds.images) for split, ds in splits.items()},
    )
