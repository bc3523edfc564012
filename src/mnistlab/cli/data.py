"""``mnistlab data ...``: list, fetch, inspect, show and export data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab import datasets
from mnistlab.viz import sample_grid, save_figure, write_eda

app = typer.Typer(help="Data sets: list, fetch, inspect, show, export.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Registered data set, e.g. mnist or fashion-mnist-kaggle.")]


@app.command("list")
def list_() -> None:
    """The registry, with what is cached."""
    for name in datasets.available():
        info = datasets.get_info(name)
        status = datasets.cache_status(name).values()
        cached = "cached" if all(s.startswith("sha256 ok") for s in status) else "not cached"
        typer.echo(f"{name:22s} {cached:11s} {info.description}")


@app.command()
def fetch(name: NameArg) -> None:
    """Download a data set (or find it in the cache) and verify its checksums."""
    folder = datasets.fetch(name)
    typer.echo(f"{name}: cached and verified in {folder} (source: {datasets.cache_source(name)})")


@app.command()
def info(name: NameArg) -> None:
    """Counts per class and split, pixel mean/std, checksum status and the source used."""
    meta = datasets.get_info(name)
    splits = {split: datasets.load(name, split) for split in meta.split_sizes}
    typer.echo(f"{name}: {meta.description}")
    typer.echo(f"order: {meta.order}; license: {meta.license}")
    typer.echo(f"source: {datasets.cache_source(name)}")
    header = f"{'class':>14s}" + "".join(f"{split:>8s}" for split in splits)
    typer.echo(header)
    counts = {split: ds.class_counts() for split, ds in splits.items()}
    for k, cls in enumerate(meta.classes):
        typer.echo(f"{cls:>14s}" + "".join(f"{counts[s][k]:8d}" for s in splits))
    typer.echo(f"{'total':>14s}" + "".join(f"{len(ds):8d}" for ds in splits.values()))
    for split, ds in splits.items():
        mean, std = ds.pixel_stats()
        typer.echo(f"{split} pixels: mean {mean:.3f}, std {std:.3f} (0..255 scale)")
    for file, status in datasets.cache_status(name, rehash=True).items():
        typer.echo(f"{file}: {status}")


@app.command()
def show(
    name: NameArg,
    out: Annotated[Path, typer.Option(help="PNG file to write.")],
    split: Annotated[str, typer.Option(help="train or test.")] = "train",
    n: Annotated[int, typer.Option(help="How many of the first images to show.")] = 25,
    per_class: Annotated[int | None, typer.Option(help="K random images of each class instead.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random choice with --per-class.")] = 0,
) -> None:
    """A grid of sample images with their class names."""
    ds = datasets.load(name, split)  # type: ignore[arg-type]
    typer.echo(save_figure(sample_grid(ds, n=n, per_class=per_class, seed=seed), out))


@app.command()
def export(
    name: NameArg,
    fmt: Annotated[str, typer.Option("--format", help="csv, idx, png or npz.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    split: Annotated[list[str] | None, typer.Option(help="Split(s) to export; default all.")] = None,
) -> None:
    """Write a data set in another format; reading it back gives the same arrays."""
    for part in split or list(datasets.get_info(name).split_sizes):
        target = datasets.export(datasets.load(name, part), out, fmt)  # type: ignore[arg-type]
        typer.echo(f"{name}/{part} -> {target}")


@app.command()
def eda(
    name: NameArg,
    out: Annotated[Path, typer.Option(help="Folder for the figures.")] = Path("reports"),
) -> None:
    """Write the exploratory figures: class balance, sample grids, class means."""
    paths = write_eda(datasets.load(name, "train"), datasets.load(name, "test"), out / name)
    for path in paths:
        typer.echo(path)
