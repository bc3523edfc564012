"""The review page: go through what ``mnistlab health`` found (suspected label errors, outliers, odd images) one
image at a time and keep, relabel or drop each, from the keyboard.

Here: what the review page shows, read and checked once (:class:`ReviewSession`: the data set's splits, the
findings, the typical images of each class, the decisions file). Its routes are
:mod:`mnistlab.serve.routers.review`; :func:`mnistlab.serve.app.create_review_app` makes the app and
``mnistlab review DATA --findings F --decisions F`` runs it. Every decision is appended to the
decisions file the moment it is made (:mod:`mnistlab.datasets.fixes`): a closed browser loses nothing, and
reopening the page shows what was decided. ``mnistlab data fix`` then writes the cleaned copy.

To help decide, the page shows beside each suspect typical images of its recorded class (and of the suggested
class, for a suspected label error): images of the first split that no check flagged, those whose label the judge
was surest of first, read from the ``per_image.csv`` beside the findings (:func:`typical_examples`).

Endpoints: ``GET /`` (the page), ``GET /items`` (what to review, with the decision so far),
``GET /image/{item}.png``, ``GET /examples/{class_index}.png`` (a strip of a class's typical images),
``POST /decide``. Requests never name files: the server reads only the data, the findings, the ``per_image.csv``
beside them and the decisions file it started with.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import datasets
from mnistlab.datasets import read_decisions, record_decision, start_decisions
from mnistlab.errors import DataFormatError
from mnistlab.fileio import open_regular, read_table_dicts

MAX_FINDINGS_BYTES = 64 << 20
MAX_PER_IMAGE_BYTES = 1 << 30  # MNIST's 70,000 rows with every check: about 12 MB
IMAGE_SCALE = 8  # 28x28 shown as 224x224, pixels kept sharp
EXAMPLES_PER_CLASS = 6
EXAMPLE_SCALE = 3  # a strip of 84x84 images
EXAMPLE_GAP = 4  # light grey pixels between two examples
LABEL_CHECK = "suspected_label_errors"  # its per_image.csv score: 1 - the probability of the recorded label


def read_findings(path: str | Path, splits: dict[str, datasets.Dataset]) -> list[dict]:
    """The findings of a ``findings.csv`` about one image each (suspected label errors, outliers, odd images,
    unusual properties; not the pairs of duplicates, nor rows about a whole class), each checked against the
    splits: a split it does not have or an index outside it is an error naming the row."""
    path = Path(path)
    with open_regular(path, "findings.csv (mnistlab health --out)", MAX_FINDINGS_BYTES) as file:
        text = file.read().decode("utf-8", "replace")
    rows = list(read_table_dicts(io.StringIO(text)))
    if rows and not {"kind", "splits", "indices", "labels", "value"} <= set(rows[0]):
        raise DataFormatError(
            f"{path}: not a findings.csv (expected columns kind, splits, indices, labels, value)"
        )
    classes = next(iter(splits.values())).classes
    items = []
    for number, row in enumerate(rows, start=2):
        split, index = (row["splits"] or "").strip(), (row["indices"] or "").strip()
        if not index or " " in index:  # about a class, or a pair
            continue
        if split not in splits or not index.isdigit() or int(index) >= len(splits[split]):
            raise DataFormatError(
                f"{path}, row {number}: {split!r} image {index!r} is not in this data set "
                f"({', '.join(f'{k} {len(v)}' for k, v in splits.items())}); were the findings made for other data?"
            )
        given = int(splits[split].labels[int(index)])
        suggested = given_probability = suggested_probability = None
        if row["kind"] == "suspected label error":
            where = f"{path}, row {number}"
            given_probability = _probability(row["value"], where, "value")
            # an older findings.csv has no suggested_probability column
            suggested_probability = _probability(
                row.get("suggested_probability") or "", where, "suggested_probability"
            )
            predicted = row["labels"].split("->")[1].strip() if "->" in row["labels"] else ""
            suggested = int(predicted) if predicted.isdigit() and int(predicted) < len(classes) else None
        items.append(
            {
                "item": len(items),
                "kind": row["kind"],
                "split": split,
                "index": int(index),
                "given": classes[given],
                "given_class": given,
                "given_probability": given_probability,
                "suggested": None if suggested is None else classes[suggested],
                "suggested_class": suggested,
                "suggested_probability": None if suggested is None else suggested_probability,
                "evidence": row["value"],
            }
        )
    return items


def _probability(text: str, where: str, column: str) -> float | None:
    """A probability from a findings.csv cell (empty: none); anything but a number from 0 to 1 is an error."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:  # NaN too
        raise DataFormatError(f"{where}: {column} is {text!r}; expected a probability from 0 to 1")
    return value


def read_per_image(
    path: str | Path, splits: dict[str, datasets.Dataset]
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """From a ``per_image.csv`` (``mnistlab health --out``) of ``splits``: for the first split, which images any
    check flagged, and the label check's score of each (1 - the probability of the recorded label; None when that
    check did not score them). None when the file has no row of the first split (health ran on other splits).

    Every row is checked against the data: a split it does not have, an index outside its split, an image twice
    or a split's images not all there, a label other than the data's, a flag other than 0/1 or a score that is
    not a number is an error naming the file and row (a per_image.csv of other data would show wrong examples).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "per_image.csv"
    >>> _ = path.write_text("split,index,label,odd_images,odd_images flagged\\ntrain,0,a,1.0,1\\ntrain,1,b,0.0,0\\n")
    >>> train = datasets.Dataset(np.zeros((2, 28, 28), np.uint8), np.array([0, 1]), ["a", "b"], split="train")
    >>> flagged, scores = read_per_image(path, {"train": train})
    >>> flagged.tolist(), scores
    ([True, False], None)
    """
    path = Path(path)
    with open_regular(path, "per_image.csv (mnistlab health --out)", MAX_PER_IMAGE_BYTES) as file:
        reader = read_table_dicts(io.StringIO(file.read().decode("utf-8", "replace")))
        columns = reader.fieldnames or []
        if not {"split", "index", "label"} <= set(columns):
            raise DataFormatError(
                f"{path}: not a per_image.csv (expected columns split, index, label, then each check's score and "
                "flag)"
            )
        first = next(iter(splits))
        seen = {name: np.zeros(len(dataset), dtype=bool) for name, dataset in splits.items()}
        flagged = np.zeros(len(splits[first]), dtype=bool)
        scores = np.zeros(len(splits[first])) if LABEL_CHECK in columns else None
        flag_columns = [column for column in columns if column.endswith(" flagged")]
        for number, row in enumerate(reader, start=2):
            split, index = _per_image_place(row, path, number, splits, seen, len(columns))
            if split == first:
                flagged[index] = _flagged(row, flag_columns, f"{path}, row {number}")
                if scores is not None:
                    scores[index] = _score(row[LABEL_CHECK], f"{path}, row {number}")
    partial = [f"{name} {int(s.sum())} of {len(s)}" for name, s in seen.items() if s.any() and not s.all()]
    if partial:
        raise DataFormatError(
            f"{path}: not every image is there ({', '.join(partial)}); was per_image.csv made for other data?"
        )
    return (flagged, scores) if seen[first].all() else None


def _per_image_place(
    row: dict, path: Path, number: int, splits: dict[str, datasets.Dataset], seen: dict, fields: int
) -> tuple[str, int]:
    """(split, index) of a per_image.csv row, checked against the data (see :func:`read_per_image`)."""
    where = f"{path}, row {number}"
    if None in row or None in row.values():  # csv's marks of too many fields, and of too few
        given = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None, []))
        raise DataFormatError(f"{where}: a row of {given} fields; the header has {fields}")
    split, index = row["split"].strip(), row["index"].strip()
    if split not in splits or not index.isdigit() or int(index) >= len(splits[split]):
        raise DataFormatError(
            f"{where}: {split!r} image {index!r} is not in this data set "
            f"({', '.join(f'{k} {len(v)}' for k, v in splits.items())}); was per_image.csv made for other data?"
        )
    index_ = int(index)
    if seen[split][index_]:
        raise DataFormatError(f"{where}: {split} image {index_} again; per_image.csv has one row per image")
    seen[split][index_] = True
    dataset = splits[split]
    recorded = dataset.classes[int(dataset.labels[index_])]
    if row["label"] != recorded:
        raise DataFormatError(
            f"{where}: {split} image {index_} is labelled {row['label']!r} there and {recorded!r} in the data; "
            "was per_image.csv made for other data (or before a fix)?"
        )
    return split, index_


def _flagged(row: dict, columns: list[str], where: str) -> bool:
    for column in columns:
        if row[column].strip() not in ("0", "1"):
            raise DataFormatError(f"{where}: {column!r} is {row[column]!r}; expected 0 or 1")
    return any(row[column].strip() == "1" for column in columns)


def _score(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise DataFormatError(f"{where}: {LABEL_CHECK!r} is {text!r}; expected a number")
    return value


def typical_examples(
    splits: dict[str, datasets.Dataset],
    per_image: str | Path,
    findings: list[dict],
    n: int = EXAMPLES_PER_CLASS,
) -> tuple[list[np.ndarray], str]:
    """Up to ``n`` typical images of each class, as indices into the first split (usually train), and how they
    were chosen, in words: images no check flagged (``per_image.csv``) and no finding names, those whose label
    the judge was surest of first (lowest label-check score). Without a ``per_image.csv``, or without the label
    check's scores in it, the first such images in split order.

    Examples
    --------
    >>> train = datasets.Dataset(np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0, 0]), ["a", "b"], split="train")
    >>> chosen, how = typical_examples({"train": train}, "no/per_image.csv", [{"split": "train", "index": 0}])
    >>> [c.tolist() for c in chosen], how
    ([[2, 3], [1]], 'the first train images of the class that no finding names')
    """
    first, dataset = next(iter(splits.items()))
    flagged, scores = np.zeros(len(dataset), dtype=bool), None
    how = f"the first {first} images of the class that no finding names"
    if os.path.lexists(
        per_image
    ):  # missing: the fallback (an older health run); anything there must be right
        read = read_per_image(per_image, splits)
        if read is not None:
            flagged, scores = read
            how = f"the first {first} images of the class that no check flagged"
    if scores is not None:
        how = f"{first} images that no check flagged, those whose label the judge was surest of first"
    for found in findings:
        if found["split"] == first:
            flagged[found["index"]] = True
    order = np.arange(len(dataset)) if scores is None else np.argsort(scores, kind="stable")
    order = order[~flagged[order]]
    labels = dataset.labels[order]
    return [order[labels == k][:n] for k in range(len(dataset.classes))], how


@dataclass
class ReviewSession:
    """What the review app serves, loaded once (:meth:`open`): the data set's splits, the findings to review,
    the typical images of each class and the decisions file. Routes reach it through ``Depends``
    (:mod:`mnistlab.serve.routers.review`).

    Examples
    --------
    >>> session = ReviewSession.open("mnist", "reports/health/findings.csv", "review.jsonl")  # doctest: +SKIP
    >>> session.listing()["items"][0]["kind"]  # doctest: +SKIP
    'suspected label error'
    """

    data: str | Path
    splits: dict[str, datasets.Dataset]
    items: list[dict]
    typical: list[np.ndarray]
    chosen_how: str
    decisions: str | Path
    strips: dict[int, bytes] = field(default_factory=dict)  # each class's strip of examples, made once

    @classmethod
    def open(cls, data: str | Path, findings: str | Path, decisions: str | Path) -> ReviewSession:
        """Load ``data`` (a registered name or files) and the ``findings.csv`` of a health check of it, and
        create the decisions file or resume it when it is for the same data (anything else is refused)."""
        splits = datasets.load_splits(data)
        items = read_findings(findings, splits)
        typical, chosen_how = typical_examples(splits, Path(findings).with_name("per_image.csv"), items)
        start_decisions(decisions, splits)
        return cls(data, splits, items, typical, chosen_how, decisions)

    @property
    def first(self) -> str:
        """The split the typical examples come from (usually train)."""
        return next(iter(self.splits))

    @property
    def classes(self) -> list[str]:
        return next(iter(self.splits.values())).classes

    def listing(self) -> dict:
        """Everything to review, each with the decision recorded so far (the file is read again: another page
        on the same file may have decided meanwhile)."""
        decided, _ = read_decisions(self.decisions, self.splits)
        shown = []
        for item in self.items:
            decision = decided.get((item["split"], item["index"]))
            shown.append({**item, "decision": None if decision is None else decision_fields(decision)})
        examples = {"split": self.first, "per_class": EXAMPLES_PER_CLASS, "chosen": self.chosen_how}
        return {"data": str(self.data), "classes": self.classes, "examples": examples, "items": shown}

    def image_png(self, item: dict) -> bytes:
        """The image of one of :attr:`items`, enlarged, as a PNG."""
        return _png(self.splits[item["split"]].images[item["index"]])

    def examples_png(self, class_index: int) -> bytes:
        """A strip of the class's typical images (:func:`typical_examples`) as a PNG, made once."""
        if class_index not in self.strips:
            self.strips[class_index] = _strip(self.splits[self.first].images[self.typical[class_index]])
        return self.strips[class_index]

    def decide(self, item: dict, action: str, label: str | None, reason: str):
        """Record a decision about one of :attr:`items` (appended to the decisions file before it returns)."""
        return record_decision(self.decisions, item["split"], item["index"], action, label, reason)


def decision_fields(decision) -> dict:
    """A recorded decision as the page shows it."""
    return {"action": decision.action, "label": decision.label, "reason": decision.reason}


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    big = np.kron(pixels, np.ones((IMAGE_SCALE, IMAGE_SCALE), dtype=np.uint8))
    out = io.BytesIO()
    Image.fromarray(255 - big).save(out, format="PNG")  # dark ink on white, as the galleries show it
    return out.getvalue()


def _strip(images: np.ndarray) -> bytes:
    """Images side by side, each ``EXAMPLE_SCALE`` times larger, light grey between them, as one PNG."""
    from PIL import Image

    scale = np.ones((EXAMPLE_SCALE, EXAMPLE_SCALE), dtype=np.uint8)
    gap = np.full((images.shape[1] * EXAMPLE_SCALE, EXAMPLE_GAP), 210, dtype=np.uint8)
    tiles = []
    for k, pixels in enumerate(images):
        tiles += [gap] * (k > 0) + [255 - np.kron(pixels, scale)]  # dark ink on white, as _png
    out = io.BytesIO()
    Image.fromarray(np.hstack(tiles)).save(out, format="PNG")
    return out.getvalue()
