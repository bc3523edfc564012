"""ONNX export and the ONNX Runtime predict path agree with the PyTorch model."""

import numpy as np
import pytest

from mnistlab import models, runs
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError

pytest.importorskip("onnxruntime")


def test_onnx_matches_pytorch_and_serves_predict(tmp_path, capsys, blobs, fast):
    from mnistlab.serve import export_onnx, load_onnx

    X, y = blobs()
    clf = models.create("cnn", **fast, precision="fp32", validation_split=0.25).fit(X, y)
    assert abs(clf.temperature_ - 1) > 0.01  # calibrated: the graph must divide by the temperature too
    runs.save(tmp_path / "run", clf, model="cnn", data="toy", classes=["a", "b", "c"])
    assert export_onnx(tmp_path / "run").name == "model.onnx"
    onnx = load_onnx(tmp_path / "run")
    np.testing.assert_allclose(onnx.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(onnx.predict(X), clf.predict(X))
    sk_run = tmp_path / "sk"
    runs.save(
        sk_run,
        models.create("naive-bayes").fit(X, y),
        model="naive-bayes",
        data="toy",
        classes=["a", "b", "c"],
    )
    with pytest.raises(MnistlabError, match="only PyTorch runs export to ONNX"):
        export_onnx(sk_run)
    assert main(["export", str(tmp_path / "run"), "--onnx"]) == 0
    assert "model.onnx" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "run")]) == 1, "no format chosen, nothing written"
    assert "nothing to export: choose a format (--onnx)" in capsys.readouterr().err


def test_flip_tta_is_the_mean_of_both_views_and_exports_to_onnx(tmp_path, blobs, fast):
    from mnistlab.serve import load_onnx

    X, y = blobs()
    clf = models.create("cnn", **fast, precision="fp32", tta="flip").fit(X, y)
    plain = clf.set_params(tta=None).decision_function(X)
    mirrored = clf.decision_function(X[:, :, ::-1].copy())
    np.testing.assert_allclose(
        clf.set_params(tta="flip").decision_function(X), (plain + mirrored) / 2, atol=1e-5
    )
    runs.save(tmp_path / "run", clf, model="cnn", data="toy", classes=["a", "b", "c"])
    assert runs.load(tmp_path / "run").tta == "flip", "the run keeps its test-time augmentation"
    np.testing.assert_allclose(load_onnx(tmp_path / "run").predict_proba(X), clf.predict_proba(X), atol=1e-5)


def test_a_forged_onnx_graph_is_never_run(tmp_path, blobs, fast):
    """A model.onnx whose stamp names the weights' and config's sha256 (which anyone can compute) but that this
    machine did not export is replaced by a fresh export before anything runs."""
    import onnx
    from onnx import TensorProto, helper

    from mnistlab.serve import load_onnx
    from mnistlab.serve.onnx import STAMP_KEY, source_digest

    X, y = blobs()
    clf = models.create("mlp", **fast).fit(X, y)
    run = tmp_path / "run"
    runs.save(run, clf, model="mlp", data="toy", classes=["a", "b", "c"])
    # "class 0 with certainty, whatever the image": a constant graph with the right stamp
    constant = helper.make_tensor("c", TensorProto.FLOAT, [1, 3], [100.0, 0.0, 0.0])
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["logits"], value=constant)],
        "forged",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
    )
    forged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(forged, {STAMP_KEY: source_digest(run)})  # the right stamp: anyone can compute it
    onnx.save(forged, str(run / "model.onnx"))
    (run / "model.onnx.sig").write_text("0" * 64 + "\n")  # a guessed signature changes nothing
    served = load_onnx(run)
    np.testing.assert_allclose(served.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    assert onnx.load(str(run / "model.onnx")).graph.name != "forged"  # exported afresh
    reloaded = (run / "model.onnx").stat().st_mtime_ns
    load_onnx(run)  # a graph this machine exported and signed is used as it is
    assert (run / "model.onnx").stat().st_mtime_ns == reloaded


@pytest.mark.parametrize(
    "edit",
    [
        {"temperature": 4.0},
        {"params": {"tta": "flip"}},
        {"params": {"tta": "flip"}, "temperature": 0.5},
    ],
    ids=["temperature", "test-time augmentation", "both"],
)
def test_a_run_edited_after_export_is_exported_again_before_anything_is_served(tmp_path, blobs, fast, edit):
    """config.json edited after ``export --onnx`` (issue 37: the command line and the web app then disagreed):
    the stamp covers the config, so the stale graph is exported again, and ONNX Runtime, PyTorch, the command
    line and the web app give the same answers."""
    import json

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from mnistlab.serve import export_onnx, load_onnx, predict_images
    from mnistlab.serve.app import create_app
    from mnistlab.serve.onnx import exported_here

    X, y = blobs()
    clf = models.create("cnn", **fast, precision="fp32", validation_split=0.25).fit(X, y)
    run = tmp_path / "run"
    runs.save(run, clf, model="cnn", data="toy", classes=["a", "b", "c"])
    export_onnx(run)
    assert exported_here(run)
    config = json.loads((run / "config.json").read_text())
    config["params"].update(edit.get("params", {}))
    config["temperature"] = edit.get("temperature", config["temperature"])
    (run / "config.json").write_text(json.dumps(config, indent=4))
    assert not exported_here(run), "the export is stale"
    edited = runs.load(run)  # what PyTorch answers now
    np.testing.assert_allclose(load_onnx(run).predict_proba(X), edited.predict_proba(X), atol=1e-5)
    assert exported_here(run)

    from PIL import Image

    Image.fromarray(X[0]).save(tmp_path / "x.png")
    cli = {name: value for name, value in predict_images(run, [tmp_path / "x.png"], top=3)[0].top}
    for onnx in (True, False):
        client = TestClient(create_app(run, onnx=onnx), base_url="http://localhost")
        png = (tmp_path / "x.png").read_bytes()
        answer = client.post("/predict?top=3", content=png, headers={"content-type": "image/png"}).json()
        served = {c["class"]: c["value"] for c in answer["top"]}
        assert served.keys() == cli.keys()
        np.testing.assert_allclose([served[k] for k in cli], list(cli.values()), atol=1e-5)
    # a layout change alone (the same JSON) is not an edit: nothing is exported again
    exported = (run / "model.onnx").stat().st_mtime_ns
    (run / "config.json").write_text(json.dumps(config))
    load_onnx(run)
    assert (run / "model.onnx").stat().st_mtime_ns == exported


def test_a_stale_export_that_cannot_be_replaced_is_refused_with_the_reason(
    tmp_path, blobs, fast, monkeypatch
):
    """Where the stale graph cannot be exported again (a read-only run folder), the server and ``predict --onnx``
    refuse it in one line saying why and what to do, never answering with the old graph."""
    import json

    from mnistlab.serve import export_onnx, load_onnx
    from mnistlab.serve import onnx as onnx_module

    X, y = blobs()
    run = tmp_path / "run"
    runs.save(run, models.create("mlp", **fast).fit(X, y), model="mlp", data="toy", classes=["a", "b", "c"])
    export_onnx(run)
    config = json.loads((run / "config.json").read_text())
    config["temperature"] = 3.0
    (run / "config.json").write_text(json.dumps(config))

    def read_only(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnx_module, "export_onnx", read_only)
    with pytest.raises(
        MnistlabError, match="exported before the run's weights or config.json changed.*--no-onnx"
    ):
        load_onnx(run)
    assert main(["predict", str(run), "--onnx", str(tmp_path / "missing.png")]) == 1
