"""The accuracy gate: every recipe of the model registry trained with its defaults, seeded, on a small stratified
sample of MNIST's training split and scored on a fixed sample of its test split. ``tests/test_accuracy_gate.py``
holds each recipe at or above the floor recorded here, so a change that silently breaks a recipe fails CI (an
accuracy bound, never a time bound).

    python benchmarks/accuracy_gate.py --record   # measure every recipe, write tests/data/accuracy_floors.json

A floor is the recorded accuracy less :data:`MARGIN`: networks round differently on CPUs with and without native
bf16 (autocast), and a broken recipe falls by far more (a wrong default, a scaling bug: tens of points).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FLOORS = Path(__file__).parents[1] / "tests" / "data" / "accuracy_floors.json"
TRAIN_IMAGES, TEST_IMAGES = 2000, 2000
# Where a recipe's defaults cost minutes on one core, the gate shortens what it trains and says so here (and in the
# floors file): the recipe's network, optimizer, schedule shape and augmentation are all still gated.
# the tree ensembles and the linear models that iterate to convergence on raw pixels took 20-100 s each on one
# loaded core with 2,000 images (gradient-boosting grows 10 exact trees of depth 10 per round): fewer images
SMALLER = {"gradient-boosting": 200, "hist-gb": 500, "sgd": 500, "linear-svc": 1000}
# the networks size their epochs by optimizer steps (min_steps: 3,376 for cnn and cnn-kaggle, 13,450 for softmax,
# whatever the data's size): the conv nets ran 4 min and more on one loaded core with them
SHORTER = {"cnn": {"min_steps": 200}, "cnn-kaggle": {"min_steps": 500}, "softmax": {"min_steps": 2000}}
MARGIN = 0.02  # accuracy points (as a fraction) between the recorded value and the floor


def gate_accuracy(name: str, train, test) -> float:
    """Test accuracy of recipe ``name`` with its defaults (networks on one thread; :data:`SHORTER` and
    :data:`SMALLER` where they say) trained on the gate's sample of MNIST's ``train`` and ``test`` splits (loaded
    once by the caller for every recipe).

    Examples
    --------
    >>> from mnistlab import datasets
    >>> 0.85 < gate_accuracy("logreg", datasets.load("mnist", "train"), datasets.load("mnist", "test")) < 1  # doctest: +SKIP
    True
    """
    from threadpoolctl import threadpool_limits

    from mnistlab import models
    from mnistlab.datasets.dataset import stratified_sample

    keep = stratified_sample(train.labels, SMALLER.get(name, TRAIN_IMAGES), 0)
    check = stratified_sample(test.labels, TEST_IMAGES, 0)
    # the recipes' own seeds (networks: seed=0; scikit-learn models: random_state=42); one thread for repeatability
    params = {"threads": 1, **SHORTER.get(name, {})} if models.get_spec(name).kind == "torch" else {}
    clf = models.create(name, train, **params)
    # one OpenMP/BLAS thread for scikit-learn too: hist-gb's threads, oversubscribed on a loaded 2-core machine,
    # took over 15 minutes for what one thread does in seconds
    with threadpool_limits(limits=1):
        clf.fit(train.images[keep], train.labels[keep])
        return float(clf.score(test.images[check], test.labels[check]))


def record(names: list[str]) -> dict:
    """Measure ``names`` and return the floors file's content (the machine and each recipe's value and floor)."""
    from mnistlab import datasets, models

    sys.path.insert(0, str(Path(__file__).parent))
    from suite import machine

    train, test = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    recipes = {}
    for name in names or models.available():
        start = time.perf_counter()
        accuracy = gate_accuracy(name, train, test)
        seconds = time.perf_counter() - start
        recipes[name] = {
            "accuracy": round(accuracy, 4),
            "floor": round(accuracy - MARGIN, 4),
            "seconds": round(seconds, 1),
        }
        print(f"{name:20s} {accuracy:.4f}  {seconds:6.1f} s", flush=True)
    return {
        "recorded": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "train_images": TRAIN_IMAGES,
        "test_images": TEST_IMAGES,
        "smaller": SMALLER,
        "shorter": SHORTER,
        "margin": MARGIN,
        "recipes": recipes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="recipes to measure (default: every recipe)")
    parser.add_argument("--record", action="store_true", help="write tests/data/accuracy_floors.json")
    args = parser.parse_args()
    content = record(args.names)
    if args.record and args.names and FLOORS.exists():  # some recipes again: the others keep their floors
        content["recipes"] = {**json.loads(FLOORS.read_text())["recipes"], **content["recipes"]}
    if args.record:
        tmp = FLOORS.with_suffix(".tmp")
        tmp.write_text(json.dumps(content, indent=1) + "\n")
        os.replace(tmp, FLOORS)
        print(f"wrote {FLOORS}")


if __name__ == "__main__":
    main()
