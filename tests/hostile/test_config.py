"""A run folder's config.json is checked before anything is built from it."""

import json
import shutil

import numpy as np
import pytest

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.errors import ParameterError, RunError


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory, blobs):
    root = tmp_path_factory.mktemp("cfg")
    X, y = blobs(60)
    runs.save(
        root / "mlp",
        models.create("mlp", epochs=1, threads=1).fit(X, y),
        model="mlp",
        data="toy",
        classes=["a", "b", "c"],
    )
    return root / "mlp"


def edited(mlp_run, tmp_path, change) -> object:
    folder = tmp_path / "edited"
    shutil.copytree(mlp_run, folder)
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["params"].update(width=1_000_000),
            "width=1000000; expected an integer >= 1 and <= 4096",
        ),
        (
            lambda c: c.update(classes=[str(i) for i in range(20_000)]),
            "classes=.*expected a list of 2..10000",
        ),
        (lambda c: c.update(classes_=list(range(5))), "classes_=.*at most one per class"),
        (lambda c: c.update(n_features_in=10**9), "n_features_in=1000000000; expected an integer"),
        (lambda c: c["params"].update(threads=-1), "threads=-1; expected an integer >= 1"),
        (lambda c: c["params"].update(precision="fp8"), "precision='fp8'; expected one of"),
        (
            lambda c: c["params"].update(augment="spin=3"),
            "augment='spin=3'; expected parts such as .*; cannot read 'spin=3'",
        ),
        (lambda c: c["params"].update(bogus=1), "invalid model parameters"),
        (lambda c: c.update(params=[1, 2]), "params=\\[1, 2\\]; expected an object"),
    ],
)
def test_bad_config_values_are_named_before_building(mlp_run, tmp_path, change, message):
    with pytest.raises(RunError, match=message):
        runs.load(edited(mlp_run, tmp_path, change))


def test_a_deeply_nested_config_is_a_clear_error(mlp_run, tmp_path):
    folder = tmp_path / "deep"
    shutil.copytree(mlp_run, folder)
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RunError, match="nested too deeply"):
        runs.load(folder)


def test_one_broken_run_does_not_stop_the_listing(mlp_run, tmp_path, capsys):
    shutil.copytree(mlp_run, tmp_path / "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text("[1, 2]")
    assert main(["runs", str(tmp_path)]) == 0
    assert "good" in capsys.readouterr().out


def test_cuda_without_a_gpu_is_named():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(
        ParameterError, match="device='cuda'; expected auto or cpu: this machine has no CUDA GPU"
    ):
        models.create("mlp", device="cuda")


def test_nan_weights_do_not_print_nan_percent(mlp_run, tmp_path, capsys):
    from PIL import Image
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "nan"
    shutil.copytree(mlp_run, folder)
    state = load_file(folder / "weights.safetensors")
    state["logits.weight"][:] = float("nan")
    save_file(state, folder / "weights.safetensors")
    canvas = np.full((60, 60), 255, np.uint8)
    canvas[10:50, 25:35] = 0
    Image.fromarray(canvas).save(tmp_path / "x.png")
    assert main(["predict", str(folder), str(tmp_path / "x.png")]) == 1
    assert "outputs are NaN or infinite" in capsys.readouterr().err
