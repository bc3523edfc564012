"""Predictions a user can trust, measured on the registered recipes: calibration before and after the temperature
fitted on the validation split, conformal coverage and set size, robustness under the 15 MNIST-C corruptions
(the same corruptions on Fashion-MNIST), and the time each adds. Each model is trained with the product's
defaults (``mnistlab train``), once (seed 0); the test split is measured once.

    .venv/bin/python benchmarks/suite.py --only trust --size full
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mnistlab import runs
from mnistlab.evaluation import evaluate_estimator, trust_numbers
from mnistlab.workflows import evaluate_run, robustness, train_model

SIZES = {"tiny": ("cnn-fast",), "quick": ("cnn-fast", "mlp"), "full": ("cnn-fast", "cnn", "mlp")}
DATA = {
    "tiny": ("mnist",),
    "quick": ("mnist", "fashion-mnist-kaggle"),
    "full": ("mnist", "fashion-mnist-kaggle"),
}


def one_run(data: str, model: str, limit: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        train_model(data, model, out=out, limit=limit, verbose=0)
        trained = time.perf_counter() - start
        start = time.perf_counter()
        metrics = evaluate_run(out)
        evaluated = time.perf_counter() - start
        recorded = metrics["evaluation"]
        run = runs.load_run(out)
        test = runs.test_data(run)
        evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
        start = time.perf_counter()
        trust_numbers(run.estimator, evaluation)  # calibration and conformal sets alone
        trust_s = time.perf_counter() - start
        corrupted = robustness(out)
    calibration = recorded.get("calibration", {})
    sets = (recorded.get("conformal") or {}).get("sets", {})
    return {
        "accuracy": recorded["accuracy"],
        "log_loss": recorded.get("log_loss"),
        "temperature": calibration.get("temperature"),
        "ece_before": (calibration.get("before") or {}).get("ece"),
        "ece": calibration.get("ece"),
        **{
            f"coverage_{key.replace(' ', '_')}": row["coverage"]
            for key, row in sets.items()
            if key.startswith(("0.1 ", "0.05 "))
        },
        **{
            f"size_{key.replace(' ', '_')}": row["mean_size"]
            for key, row in sets.items()
            if key.startswith("0.1 ")
        },
        "robust_mean": corrupted["mean"],
        "robust_drop": corrupted["drop"],
        "corruptions": corrupted["corruptions"],
        "train_s": round(trained, 1),
        "evaluate_s": round(evaluated, 1),
        "calibration_and_sets_s": round(trust_s, 3),
        "robustness_s": corrupted["seconds"],
    }


def bench_trust(size: str) -> dict:
    """Calibration, conformal coverage and robustness of the registered recipes, MNIST and Fashion-MNIST."""
    limit = 3000 if size == "tiny" else None
    out: dict = {}
    for data in DATA[size]:
        for model in SIZES[size]:
            out[f"{data} {model}"] = one_run(data, model, limit)
    out["target"] = (
        "calibration + conformal sets add < 1 s to evaluate; the corruption suite < 2 min per run and data set"
    )
    rows = [row for row in out.values() if isinstance(row, dict)]
    out["met"] = all(row["robustness_s"] < 120 and row["calibration_and_sets_s"] < 1 for row in rows)
    return out


AUGMENT_SEEDS = {"tiny": 1, "quick": 1, "full": 3}


def augmentation_gaps(size: str, extra: str = "brightness=0.5") -> dict:
    """Which training augmentation closes the largest robustness gaps, on validation data only: each recipe
    trained on 90% of MNIST's training split (stratified, seed 0) as registered and with ``extra`` added to its
    augmentation, then measured on the other 10% clean and under each corruption. ``cnn-fast`` over several
    seeds; ``cnn`` (8 epochs) over one."""
    import numpy as np

    from mnistlab import datasets, models
    from mnistlab.datasets import train_val_split
    from mnistlab.evaluation.corruptions import CORRUPTIONS, corrupt

    train = datasets.load("mnist", "train")
    if size == "tiny":
        train = train.subset(slice(0, 3000))
    fit, held = train_val_split(train, 0.1, seed=0)
    corrupted = {name: corrupt(held.images, name, seed=0) for name in CORRUPTIONS}
    out: dict = {"extra": extra, "validation_images": len(held)}
    plans = [("cnn-fast", AUGMENT_SEEDS[size])] + ([("cnn", 1)] if size == "full" else [])
    for model, seeds in plans:
        for side in ("registered", "augmented"):
            rows = []
            for seed in range(seeds):
                estimator = models.create(model, fit, verbose=0, seed=seed)
                if side == "augmented":
                    recipe = estimator.augment
                    estimator.set_params(augment=f"{recipe},{extra}" if recipe else extra)
                start = time.perf_counter()
                estimator.fit(fit.images, fit.labels)
                row = {"clean": float(np.mean(estimator.predict(held.images) == held.labels))}
                row.update(
                    {
                        name: float(np.mean(estimator.predict(x) == held.labels))
                        for name, x in corrupted.items()
                    }
                )
                row["mean_corrupted"] = float(np.mean([row[name] for name in CORRUPTIONS]))
                row["train_s"] = time.perf_counter() - start
                rows.append(row)
            median = {key: float(np.median([r[key] for r in rows])) for key in rows[0]}
            spread = {key: [min(r[key] for r in rows), max(r[key] for r in rows)] for key in rows[0]}
            out[f"{model} {side}"] = {"median": median, "range": spread, "seeds": seeds}
    return out


def bench_augmentation(size: str) -> dict:
    """The robustness gaps an augmentation closes, measured on validation data (never the test split)."""
    result = augmentation_gaps(size)
    result["target"] = "say which augmentation closes the largest gaps, on validation data (issue 26)"
    return result
