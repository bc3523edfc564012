"""Run folders: save, load with identical predictions, refuse tampered or foreign files; the train/predict CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.datasets.preprocess import mnist_style
from mnistlab.errors import RunError

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory, blobs, fast):
    root = tmp_path_factory.mktemp("runs")
    X, y = blobs()
    torch_model = models.create("cnn-kaggle", **fast).fit(X, y)
    sk_model = models.create("logreg").fit(X, y)
    runs.save(
        root / "torch",
        torch_model,
        model="cnn-kaggle",
        data="toy",
        classes=CLASSES,
        seed=0,
        metrics={"test_accuracy": 0.5},
    )
    runs.save(
        root / "sk", sk_model, model="logreg", data="toy", classes=CLASSES, metrics={"test_accuracy": 0.75}
    )
    return root, X, torch_model, sk_model


def test_loaded_models_predict_identically(saved_runs, fast):
    root, X, torch_model, sk_model = saved_runs
    for name, original in [("torch", torch_model), ("sk", sk_model)]:
        loaded = runs.load(root / name)
        np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
        np.testing.assert_array_equal(loaded.classes_, original.classes_)
    run = runs.load_run(root / "torch")
    assert run.config["model"] == "cnn-kaggle" and run.config["classes"] == CLASSES
    assert run.config["versions"]["torch"].startswith("2.13")
    assert len(run.history) == fast["epochs"] and run.metrics["test_accuracy"] == 0.5
    assert sorted(p.name for p in (root / "torch").iterdir()) == [
        "config.json",
        "history.json",
        "metrics.json",
        "steps.json",
        "weights.safetensors",
    ]


def test_list_runs(saved_runs):
    root = saved_runs[0]
    rows = runs.list_runs(root)
    assert [(r["model"], r["test_accuracy"]) for r in rows] == [("logreg", 0.75), ("cnn-kaggle", 0.5)]


def copy_run(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_tampered_truncated_and_foreign_files_are_refused(saved_runs, tmp_path):
    root = saved_runs[0]
    truncated = copy_run(root / "torch", tmp_path / "truncated")
    weights = truncated / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])
    with pytest.raises(RunError, match="weights.safetensors: (not a valid safetensors file|holds .* fewer)"):
        runs.load(truncated)
    swapped = copy_run(root / "torch", tmp_path / "swapped")
    config = json.loads((swapped / "config.json").read_text())
    config["params"]["architecture"] = "mlp"
    (swapped / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match="weights do not fit the 'mlp' network"):
        runs.load(swapped)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"hello": 1}')
    with pytest.raises(RunError, match="not a mnistlab run config"):
        runs.load(foreign)
    with pytest.raises(RunError, match="no such run folder"):
        runs.load(tmp_path / "nothing")
    broken = copy_run(root / "sk", tmp_path / "broken")
    (broken / "model.skops").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(RunError, match="model.skops: not a valid skops file"):
        runs.load(broken)


def test_skops_file_with_untrusted_types_runs_no_code(saved_runs, tmp_path):
    import os

    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    evil = copy_run(saved_runs[0] / "sk", tmp_path / "evil")
    skops.io.dump(FunctionTransformer(func=os.system), evil / "model.skops")
    with pytest.raises(RunError, match="refusing to load posix.system: no mnistlab model contains that type"):
        runs.load(evil)


def test_mnist_style_preprocessing_centres_and_inverts():
    canvas = np.full((200, 120), 250, np.uint8)  # light paper
    canvas[30:170, 10:40] = 20  # a dark stroke near the left edge
    out = mnist_style(Image.fromarray(canvas))
    assert out.shape == (28, 28) and out[0].max() == 0, "dark background after inversion"
    rows, _ = np.nonzero(out > 50)
    assert rows.max() - rows.min() + 1 <= 21, "fitted into the 20x20 box"
    cy, cx = np.average(np.indices(out.shape), axis=(1, 2), weights=out.astype(float))
    assert abs(cy - 13.5) < 0.6 and abs(cx - 13.5) < 0.6, "centred by centre of mass"
    assert not mnist_style(np.zeros((30, 30), np.uint8)).any()


def test_cli_predict_images_and_submission(saved_runs, tmp_path, capsys):
    root, X = saved_runs[0], saved_runs[1]
    Image.fromarray(X[0]).resize((56, 56)).save(tmp_path / "one.png")
    assert main(["predict", str(root / "torch"), str(tmp_path / "one.png")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{tmp_path / 'one.png'}: ") and line.count("%") == 3
    header = ",".join(f"pixel{i}" for i in range(784))
    rows = [",".join(map(str, img.ravel())) for img in X[:5]]
    (tmp_path / "test.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    submission = tmp_path / "submission.csv"
    code = main(
        ["predict", str(root / "sk"), "--csv", str(tmp_path / "test.csv"), "--submission", str(submission)]
    )
    assert code == 0
    lines = submission.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and [line.split(",")[0] for line in lines[1:]] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    predicted = runs.load(root / "sk").predict(X[:5])
    assert [int(line.split(",")[1]) for line in lines[1:]] == predicted.tolist()
    assert main(["predict", str(root / "torch"), str(tmp_path / "missing.png")]) == 1
    assert "missing.png: image file not found" in capsys.readouterr().err


@pytest.mark.realdata
def test_cli_train_writes_a_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            "mnist",
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--limit",
            "3000",
            "--seed",
            "0",
            "--threads",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
    assert metrics["n_train"] == 3000 and metrics["n_test"] == 500 and metrics["test_accuracy"] > 0.75
    assert main(["runs", str(tmp_path)]) == 0
    assert "mnist" in capsys.readouterr().out
    assert main(["train", "--model", "mlp", "--set", "augment=flip", "--limit", "100"]) == 1
    assert "horizontal flips turn digits" in capsys.readouterr().err
    assert (
        main(["train", "--model", "mlp", "--set", "optimizer=rmsprop", "--limit", "100", "--epochs", "1"])
        == 1
    )
    assert (
        "optimizer='rmsprop'; expected one of 'adam', 'adamw', 'sgd', 'adadelta'" in capsys.readouterr().err
    )


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn", "cnn-seed", "logreg"])
def test_runs_saved_in_format_1_load_and_predict_as_before(name):
    """Run folders written by mnistlab 0.1.0 (format 1: weights under layer indices) load through the format
    version and give the probabilities they gave when saved."""
    folder = Path(__file__).parent / "data" / "format1" / name  # cnn-seed: cnn-kaggle's old name
    assert json.loads((folder / "config.json").read_text())["format"] == 1
    images = np.load(folder.parent / "inputs.npz")["images"]
    estimator = runs.load(folder)
    if getattr(estimator, "precision", None) == "auto" and name.startswith("cnn"):
        # recorded under bf16 autocast (what "auto" meant then); "auto" is now measured per machine
        estimator.set_params(precision="bf16")
    np.testing.assert_allclose(
        estimator.predict_proba(images), np.load(folder / "expected_proba.npy"), rtol=1e-6, atol=1e-7
    )


def test_a_short_runs_optimizer_steps_are_kept_and_drawn(saved_runs, tmp_path):
    """A run of few epochs keeps each step's loss (steps.json), so its learning curves are drawn per step."""
    from mnistlab import viz

    root, _, torch_model, _ = saved_runs
    run = runs.load_run(root / "torch")
    assert len(run.steps) == torch_model.steps_ > len(run.history)
    assert run.steps == torch_model.step_history_
    assert viz.LearningCurveDisplay.from_history(run.history, steps=run.steps).per_step
    assert not (root / "sk" / runs.STEPS).exists() and runs.load_run(root / "sk").steps == []
    tampered = copy_run(root / "torch", tmp_path / "tampered")
    steps = json.loads((tampered / runs.STEPS).read_text())
    steps[3]["train_loss"] = "low"
    (tampered / runs.STEPS).write_text(json.dumps(steps))
    with pytest.raises(RunError, match=r"steps.json: steps\[3\].train_loss='low'; expected a number"):
        runs.load_run(tampered)
