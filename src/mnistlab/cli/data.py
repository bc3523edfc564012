"""``mnistlab data ...``: list, fetch, inspect, show and export data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import DropColumnsOpt, LabelColumnOpt, echo, parse_columns
from mnistlab.errors import ParameterError

app = typer.Typer(
    help="Data sets: list, fetch, inspect, show, export.", no_args_is_help=True, rich_markup_mode=None
)

NameArg = Annotated[
    str,
    typer.Argument(
        help="Registered data set (e.g. mnist), or a Kaggle-layout CSV, image folder, IDX file or npz."
    ),
]


@app.command("list")
def list_() -> None:
    """The registry, with what is cached."""
    from mnistlab import datasets

    for name in datasets.available():
        cached = "cached" if datasets.is_cached(name) else "not cached"
        echo(f"{name:22s} {cached:11s} {datasets.get_info(name).description}")
    for name, entry in datasets.user_datasets().items():
        test = f", test {entry['test']}" if "test" in entry else ""
        echo(f"{name:22s} {'yours':11s} train {entry['train']}{test}")


@app.command()
def fetch(name: NameArg) -> None:
    """Download a data set (or find it in the cache) and verify its checksums."""
    from mnistlab import datasets

    folder = datasets.fetch(name)
    echo(f"{name}: cached and verified in {folder} (source: {datasets.cache_source(name)})")


@app.command()
def info(name: NameArg, label_column: LabelColumnOpt = None, drop_columns: DropColumnsOpt = None) -> None:
    """Counts per class and split, pixel mean/std, ink polarity, checksum status and the source used."""
    from mnistlab import datasets

    s = datasets.summary(name, label_column=label_column, drop_columns=parse_columns(drop_columns))
    echo(f"{s.name}: {s.description}")
    if s.info is not None:
        echo(f"kind: {s.info.kind}; order: {s.info.order}; license: {s.info.license}")
    echo(f"source: {s.source}")
    echo(f"{'class':>14s}" + "".join(f"{split:>8s}" for split in s.sizes))
    for k, cls in enumerate(s.classes):
        counts = [c[k] if c is not None else "-" for c in s.class_counts.values()]
        echo(f"{cls:>14s}" + "".join(f"{c:>8}" for c in counts))
    echo(f"{'total':>14s}" + "".join(f"{size:8d}" for size in s.sizes.values()))
    for split, (mean, std) in s.pixel_stats.items():
        echo(
            f"{split} pixels: mean {mean:.3f}, std {std:.3f} (0..255 scale); content sha256 "
            f"{s.content_sha256[split][:16]}..."
        )
    for split, profile in (s.ink or {}).items():
        echo(f"{split} ink: {profile.describe()}")
    for file, status in (s.files or {}).items():
        echo(f"{file}: {status.detail}")


@app.command()
def verify(name: NameArg) -> None:
    """Re-hash every cached file of a data set against its checksum; exit status 1 if any fails."""
    from mnistlab import datasets
    from mnistlab.errors import ChecksumError

    statuses = datasets.verify(name)
    for file, status in statuses.items():
        echo(f"{file}: {status.detail}")
    bad = [file for file, status in statuses.items() if not status.verified]
    if bad:
        raise ChecksumError(
            f"{name}: {len(bad)} of {len(statuses)} files not verified ({', '.join(bad)}); "
            f"`mnistlab data fetch {name}` fetches them again"
        )


@app.command()
def show(
    name: NameArg,
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    split: Annotated[str, typer.Option(help="train or test.")] = "train",
    n: Annotated[int, typer.Option(help="How many of the first images to show.")] = 25,
    per_class: Annotated[int | None, typer.Option(help="K random images of each class instead.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random choice with --per-class.")] = 0,
    label_column: LabelColumnOpt = None,
    drop_columns: DropColumnsOpt = None,
) -> None:
    """A grid of sample images with their class names."""
    from mnistlab import datasets
    from mnistlab.viz import SampleGridDisplay

    parts = datasets.load_splits(name, label_column=label_column, drop_columns=parse_columns(drop_columns))
    ds = parts.get(split) or next(iter(parts.values()))  # a file holds one data set, whatever its split name
    echo(SampleGridDisplay.from_dataset(ds, n=n, per_class=per_class, seed=seed).save(out))


@app.command()
def export(
    name: NameArg,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="csv, idx, png, npz or shards (a folder read without loading it whole)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    split: Annotated[list[str] | None, typer.Option(help="Split(s) to export; default all.")] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace files in --out that no export of this data set wrote."),
    ] = False,
    label_column: LabelColumnOpt = None,
    drop_columns: DropColumnsOpt = None,
) -> None:
    """Write a data set in another format; reading it back gives the same arrays."""
    from mnistlab import datasets

    parts = datasets.load_splits(name, label_column=label_column, drop_columns=parse_columns(drop_columns))
    for part in split or list(parts):
        if part not in parts:
            raise ParameterError(f"{name}: no split {part!r}; it has {', '.join(parts)}")
        echo(f"{name}/{part} -> {datasets.export(parts[part], out, fmt, overwrite)}")


@app.command()
def deform(
    out: Annotated[Path, typer.Option(help="Shard folder to write (an interrupted generation continues).")],
    images: Annotated[int, typer.Option(help="Training images, 60000 to 8100000.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="The deformations' seed.")] = 0,
) -> None:
    """Generate deformed MNIST (infiMNIST-style elastic and affine copies of the training images) as shards."""
    from mnistlab import datasets

    echo(
        f"written {datasets.generate_deformed_mnist(out, images, seed)} (train: {images:,} images; test: MNIST's)"
    )


@app.command()
def fix(
    name: NameArg,
    decisions: Annotated[Path, typer.Option(help="The decisions file (JSON lines) of a review.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, kaggle-csv, idx, png or npz.")],
    out: Annotated[Path, typer.Option(help="Folder for the cleaned copy (the original is never modified).")],
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace files in --out that no export of this data set wrote."),
    ] = False,
) -> None:
    """Write a cleaned copy of a data set: the review's decisions (keep, relabel, drop) applied, with fixes.json
    recording what changed and why."""
    from mnistlab.datasets import RECORD_FILE, write_fixed

    written, record = write_fixed(name, decisions, out, fmt, overwrite)
    counts = record["counts"]
    echo(
        f"{counts['relabel']} relabelled, {counts['drop']} dropped, {counts['keep']} kept as they were"
        + (f" ({counts['superseded']} earlier decisions superseded)" if counts["superseded"] else "")
    )
    for path in written:
        echo(f"written {path}")
    echo(f"record of the changes: {Path(out) / RECORD_FILE}")


@app.command()
def eda(
    name: NameArg,
    out: Annotated[Path, typer.Option(help="Folder for the figures.")] = Path("reports"),
    label_column: LabelColumnOpt = None,
    drop_columns: DropColumnsOpt = None,
) -> None:
    """Write the exploratory figures: class balance, sample grids, class means."""
    from mnistlab import datasets
    from mnistlab.viz import write_eda

    parts = list(
        datasets.load_splits(
            name, label_column=label_column, drop_columns=parse_columns(drop_columns)
        ).values()
    )
    for path in write_eda(parts, out / parts[0].name):
        echo(path)
