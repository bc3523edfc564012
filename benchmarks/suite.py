"""The benchmark suite: mnistlab side by side with reference implementations, same machine, same run.

    make bench                                   # everything, full size (under 60 minutes on 2 cores)
    .venv/bin/python benchmarks/suite.py --quick # the fast benchmarks at full size (under 10 minutes)
    .venv/bin/python benchmarks/suite.py --only csv_parse,inference --size tiny

The rules (README, Benchmarks): product defaults for headline figures, several seeds per side run side by side,
medians and ranges, nothing chosen by test accuracy, references in their fastest fair configuration, one results
file per run with the machine and date in it and in every row. Results go to
benchmarks/results/<date>-<time>-<machine>-<size>[-only].json and .md. Never part of the tests
(tests/test_bench_smoke.py only checks that each benchmark starts and writes its JSON at the tiny size).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import THREADS, child, gemm_peak, spread, timed, write_results
from label_error_benchmarks import bench_label_errors, bench_noise_downstream, bench_real_label_errors
from PIL import Image
from quality_benchmarks import bench_planted
from responsiveness import bench_health_under_attack, bench_refusals, bench_start_up
from speed_record import bench_record
from torch import nn
from training_benchmarks import (
    bench_auto_precision,
    bench_cnn_fashion,
    bench_frontier,
    bench_keras,
    bench_train_vs_pytorch_example,
)
from trust_benchmarks import bench_augmentation, bench_trust

from mnistlab import datasets, models
from mnistlab.datasets.csvfile import write_csv
from mnistlab.parallel import loop_of_fits
from mnistlab.runs import versions

RESULTS = Path(__file__).parent / "results"


# ---------------------------------------------------------------------------------------------------- data


def bench_csv_parse(size: str) -> dict:
    """The 60000x785 Kaggle-layout CSV to a uint8 array (time, peak memory, each in a fresh process): mnistlab
    against pandas at its best (dtype=uint8; C engine on 1 thread, pyarrow engine on all cores) and its default
    (int64 columns), pyarrow and polars."""
    train = datasets.load("mnist", "train")
    n = 2000 if size == "tiny" else 60000
    checksum = "; result = {'checksum': int(images.sum(dtype='int64'))}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        write_csv(path, train.images[:n], train.labels[:n])
        read = f"pd.read_csv({str(path)!r}"
        sides = {
            "mnistlab": (
                "from mnistlab.datasets.csvfile import read_csv",
                f"images, labels = read_csv({str(path)!r})",
            ),
            "pandas_uint8_c": (
                "import pandas as pd",
                f"images = {read}, dtype='uint8').iloc[:, 1:].to_numpy()",
            ),
            "pandas_default": ("import pandas as pd", f"images = {read}).iloc[:, 1:].to_numpy('uint8')"),
            **_other_csv_readers(path),
        }
        measured = {
            name: [child(setup, work + checksum) for _ in range(1 if size == "tiny" else 3)]
            for name, (setup, work) in sides.items()
        }
    sums = {name: runs[0]["checksum"] for name, runs in measured.items()}
    assert len(set(sums.values())) == 1, f"every reader must read the same pixels: {sums}"
    rows = {
        name: {
            "seconds": spread([r["seconds"] for r in runs]),
            "peak_mib": spread([r["peak_mib"] for r in runs]),
            "threads": CSV_THREADS.get(name, "?"),
        }
        for name, runs in measured.items()
    }
    pandas = [name for name in rows if name.startswith("pandas_uint8")]
    best = min(pandas, key=lambda name: rows[name]["seconds"]["median"])
    speedup = rows[best]["seconds"]["median"] / rows["mnistlab"]["seconds"]["median"]
    memory = rows["mnistlab"]["peak_mib"]["median"] / max(rows[best]["peak_mib"]["median"], 1e-9)
    return {
        "rows": n,
        "readers": rows,
        "best_pandas": best,
        "speedup_vs_best_pandas": speedup,
        "memory_vs_best_pandas": memory,
        "target": "mnistlab >= 5x faster than pandas' fastest uint8 configuration, <= 0.5x its peak memory",
        "met": speedup >= 5 and memory <= 0.5,
    }


CSV_THREADS = {
    "mnistlab": THREADS,
    "pandas_uint8_c": 1,
    "pandas_default": 1,
    "pandas_uint8_pyarrow": "all cores",
    "pyarrow": "all cores",
    "polars": "all cores",
}


def _other_csv_readers(path: Path) -> dict[str, tuple[str, str]]:
    """pandas' pyarrow engine, pyarrow and polars (the `bench` extra): the compiled readers a user would try next."""
    names = "['label'] + [f'pixel{i}' for i in range(784)]"
    readers = {
        "pandas_uint8_pyarrow": (
            "import pandas as pd",
            f"images = pd.read_csv({str(path)!r}, dtype='uint8', engine='pyarrow').iloc[:, 1:].to_numpy()",
        ),
        "pyarrow": (
            "import numpy as np, pyarrow as pa, pyarrow.csv as pc",
            f"t = pc.read_csv({str(path)!r}, convert_options=pc.ConvertOptions("
            f"column_types={{n: pa.uint8() for n in {names}}})); "
            "images = np.column_stack([c.to_numpy() for c in t.columns[1:]])",
        ),
        "polars": (
            "import polars as pl",
            f"images = pl.read_csv({str(path)!r}, schema={{n: pl.UInt8 for n in {names}}})"
            ".drop('label').to_numpy()",
        ),
    }
    need = {"pandas_uint8_pyarrow": "pyarrow"}
    return {name: pair for name, pair in readers.items() if importlib.util.find_spec(need.get(name, name))}


def bench_cached_load(size: str) -> dict:
    """Loading a cached data set (``datasets.load``), target under 0.2 s."""
    datasets.load("mnist", "train")
    t = timed(lambda: datasets.load("mnist", "train"), repeat=5)
    return {**t, "target": "median < 0.2 s", "met": t["median_s"] < 0.2}


def bench_png_route(size: str) -> dict:
    """The Kaggle Fashion-MNIST CNN tutorial's route (write every image as PNG in a loop, read them back in a loop) against
    ``datasets.export(..., 'png')`` + ``datasets.from_image_folder``."""
    train = datasets.load("mnist", "train")
    n = {"full": 70000, "quick": 20000}.get(size, 1000)
    images = np.concatenate([train.images, datasets.load("mnist", "test").images])[:n]
    labels = np.concatenate([train.labels, datasets.load("mnist", "test").labels])[:n]
    with tempfile.TemporaryDirectory() as tmp:
        seed_dir = Path(tmp) / "seed"
        seed_dir.mkdir()

        def seed_route() -> np.ndarray:
            for i, image in enumerate(images):
                Image.fromarray(image).save(seed_dir / f"{i}.png")
            return np.stack([np.array(Image.open(seed_dir / f"{i}.png")) for i in range(n)])

        def our_route() -> np.ndarray:
            ds = datasets.Dataset(images, labels, train.classes, "mnist", "all")
            return datasets.from_image_folder(datasets.export(ds, Path(tmp) / "ours", "png")).images

        t_seed, t_ours = timed(seed_route, 1), timed(our_route, 1)
        assert np.array_equal(our_route(), images)
    return {
        "images": n,
        "seed_route_s": t_seed["median_s"],
        "mnistlab_s": t_ours["median_s"],
        "speedup": t_seed["median_s"] / t_ours["median_s"],
    }


# ----------------------------------------------------------------------------------------------- inference


def bench_inference(size: str) -> dict:
    """Images per second of a trained ``cnn``, batch 1 and 1024: ONNX Runtime and ``predict_proba`` against
    PyTorch plain (eager, fp32, NCHW) and PyTorch tuned (the fastest of: inference mode with channels-last, a
    traced and frozen graph with oneDNN fusions, bf16 autocast where the CPU has native bf16; outputs checked)."""
    from mnistlab import runs
    from mnistlab.serve import OnnxClassifier
    from mnistlab.serve.onnx import export_onnx

    train = datasets.load("mnist", "train")
    fit_n = 500 if size == "tiny" else 2000  # the tiny size only checks that the benchmark runs
    clf = models.create("cnn", epochs=1, threads=THREADS).fit(train.images[:fit_n], train.labels[:fit_n])
    net = clf.network_.float().eval().to(memory_format=torch.contiguous_format)
    test = datasets.load("mnist", "test").images
    result: dict = {"threads": THREADS}
    torch.set_num_threads(THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        runs.save(tmp, clf, model="cnn", data="mnist", classes=train.classes)
        export_onnx(tmp)
        onnx = OnnxClassifier(Path(tmp) / "model.onnx", clf.classes_, THREADS)
        for batch in (1, 1024):
            x = test[:batch]
            xt = torch.from_numpy(x).float().unsqueeze(1)
            repeat = (20 if size == "tiny" else 200) if batch == 1 else (2 if size == "tiny" else 10)
            variants = _pytorch_variants(net, xt)
            seconds = {name: timed(lambda fn=fn: fn(), repeat)["median_s"] for name, fn in variants.items()}
            seconds["predict_proba"] = timed(lambda x=x: clf.predict_proba(x), repeat)["median_s"]
            seconds["onnxruntime"] = timed(lambda x=x: onnx.predict_proba(x), repeat)["median_s"]
            tuned = min((n for n in variants if n != "plain_eager"), key=seconds.get)
            result[f"batch{batch}"] = {
                "images_per_s": {name: batch / t for name, t in seconds.items()},
                "latency_ms": {name: 1000 * t for name, t in seconds.items()},
                "tuned_pytorch": tuned,
                "onnx_vs_plain": seconds["plain_eager"] / seconds["onnxruntime"],
                "onnx_vs_tuned_pytorch": seconds[tuned] / seconds["onnxruntime"],
            }
    result["target"] = "ONNX Runtime faster than tuned PyTorch at batch 1 and 1024; batch-1 latency < 2 ms"
    result["met"] = all(result[f"batch{b}"]["onnx_vs_tuned_pytorch"] > 1 for b in (1, 1024)) and (
        result["batch1"]["latency_ms"]["onnxruntime"] < 2
    )
    return result


def _pytorch_variants(net: nn.Module, xt: torch.Tensor) -> dict[str, Callable[[], torch.Tensor]]:
    """PyTorch inference paths on the same weights, each checked against plain eager."""
    import copy
    import warnings

    last = copy.deepcopy(net).to(memory_format=torch.channels_last)
    xl = xt.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(net), xt)))

    def run(model, x, bf16=False):
        def call() -> torch.Tensor:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model(x)

        return call

    variants = {
        "plain_eager": run(net, xt),
        "inference_mode_channels_last": run(last, xl),
        "traced_frozen": run(frozen, xt),
    }
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        variants["bf16_channels_last"] = run(last, xl, bf16=True)
    expected = variants["plain_eager"]().float()
    for name, fn in variants.items():
        tolerance = 0.5 if name.startswith("bf16") else 1e-3
        assert (fn().float() - expected).abs().max() < tolerance, f"{name} computes another function"
    return variants


# ------------------------------------------------------------------------------------------ scikit-learn


def bench_sklearn_overhead(size: str) -> dict:
    """mnistlab's registered pipelines against the same bare scikit-learn estimators (fit + predict)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = datasets.load("mnist", "train")
    n = 10000 if size != "tiny" else 300
    X, y = train.images[:n], train.labels[:n]
    cases = {
        "naive-bayes": (models.create("naive-bayes"), lambda: GaussianNB()),
        "logreg": (
            models.create("logreg", max_iter=50),
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=50)),
        ),
    }
    out = {}
    for name, (ours, bare_factory) in cases.items():

        def run_ours(ours=ours) -> None:
            ours.fit(X, y).predict(X)

        def run_bare(bare_factory=bare_factory) -> None:  # a user with uint8 images converts for each call
            fitted = bare_factory().fit(X.reshape(len(X), -1).astype(np.float64), y)
            fitted.predict(X.reshape(len(X), -1).astype(np.float64))

        ours_runs, bare_runs = [], []
        with warnings.catch_warnings():
            # Both sides stop at the same 50 iterations on purpose (the same work, timed): that they stop before
            # converging is the design of this measurement, not something a reader can act on.
            warnings.simplefilter("ignore", ConvergenceWarning)
            run_ours(), run_bare()  # warm-up: first-call imports and allocations
            for i in range(7):  # pairs, alternating which side goes first, so load drift hits both alike
                pair = (run_ours, run_bare) if i % 2 == 0 else (run_bare, run_ours)
                times = {fn: timed(fn, 1)["median_s"] for fn in pair}
                ours_runs.append(times[run_ours])
                bare_runs.append(times[run_bare])
        ratios = [o / b for o, b in zip(ours_runs, bare_runs, strict=True)]
        out[name] = {
            "mnistlab_s": statistics.median(ours_runs),
            "bare_s": statistics.median(bare_runs),
            "overhead": statistics.median(ratios) - 1,
            "overhead_range": [min(ratios) - 1, max(ratios) - 1],
            "mnistlab_s_range": [min(ours_runs), max(ours_runs)],
            "bare_s_range": [min(bare_runs), max(bare_runs)],
        }
    out["target"] = "overhead < 5% (median of 7 paired ratios)"
    out["met"] = all(v["overhead"] < 0.05 for k, v in out.items() if isinstance(v, dict))
    return out


def bench_graph(size: str) -> dict:
    """The graph analysis of the tutorial, at scale: a kNN graph (k=10) of the test split in the penultimate
    layer with exact betweenness and the mistake-detection table (rustworkx), networkx's exact betweenness on a
    2000-image graph of the same kind, and the 100-image graphs of every source x method with figures."""
    import tempfile

    import networkx
    import rustworkx

    from mnistlab import representations, runs
    from mnistlab.workflows import graph_panel

    train, test = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    n_train, n_test = (60000, 10000) if size != "tiny" else (3000, 500)
    clf = models.create("mlp", train, epochs=1, threads=THREADS, validation_split=0.0)
    clf.fit(train.images[:n_train], train.labels[:n_train])
    images, y_true = test.images[:n_test], test.labels[:n_test]
    n_reference = 10000 if size != "tiny" else 2000  # training images the baselines compare with

    def table() -> dict:
        test_f = representations.features(clf, images, "relu")
        train_f = representations.features(clf, train.images[:n_reference], "relu")
        proba = clf.predict_proba(images)
        y_pred = proba.argmax(1)
        scores = {
            "max_softmax": representations.max_softmax(proba),
            "deep_knn": representations.deep_knn(train_f, train.labels[:n_reference], test_f, y_pred),
            "trust_score": representations.trust_score(train_f, train.labels[:n_reference], test_f, y_pred),
        }
        result = representations.GraphAnalysis(
            representations.similarity_graph(test_f, "knn", k=10),
            y_true,
            y_pred,
            test.classes,
            "relu",
            extra_scores=scores,
        )
        return {"summary": result.summary(), "detection": result.error_detection()}

    start = time.perf_counter()
    full = table()
    full_s = time.perf_counter() - start
    small_f = representations.features(clf, images[:2000], "relu")
    small = representations.GraphAnalysis(
        representations.similarity_graph(small_f, "knn", k=10), y_true[:2000], y_true[:2000], test.classes
    )
    rx_s = timed(lambda: rustworkx.betweenness_centrality(small._rx), 3)["median_s"]
    nx_graph = networkx.Graph()
    nx_graph.add_nodes_from(range(small.graph.n))
    nx_graph.add_edges_from(map(tuple, small.graph.edges.tolist()))
    nx_s = timed(lambda: networkx.betweenness_centrality(nx_graph), 1)["median_s"]
    panel_s = None  # the tiny size (the smoke test) skips the 31 figures: tests/test_analysis.py draws them
    if size != "tiny":
        with tempfile.TemporaryDirectory() as tmp:
            runs.save(Path(tmp) / "run", clf, model="mlp", data="mnist", classes=test.classes)
            start = time.perf_counter()
            graph_panel(Path(tmp) / "run", n=100, out=Path(tmp) / "figures")
            panel_s = time.perf_counter() - start
    return {
        "knn_graph_and_table_s": full_s,
        "images": n_test,
        "edges": full["summary"]["edges"],
        "betweenness_auc": full["detection"]["betweenness"]["roc_auc"],
        "max_softmax_auc": full["detection"]["max_softmax"]["roc_auc"],
        "rustworkx_betweenness_2000_s": rx_s,
        "networkx_betweenness_2000_s": nx_s,
        "speedup_2000": nx_s / rx_s,
        "panel_100_images_4x3_s": panel_s,
        "target": "graph + table of the 10000-image test split < 15 s; >= 20x networkx; 100-image panel < 30 s",
        "met": full_s < 15 and nx_s / rx_s >= 20 and (panel_s is None or panel_s < 30),
    }


def bench_health(size: str) -> dict:
    """Data-set health on fashion-mnist-kaggle: exact duplicates (byte sort) against the obvious dict-of-bytes loop,
    near duplicates (PCA-50 + kNN) against scikit-learn's brute-force nearest neighbours on the raw pixels, the
    tiled nearest-neighbour search against scikit-learn's on the same PCA-50 points, the label check (cnn-fast,
    5-fold out-of-fold) on the training split, and (above tiny) ``health mnist`` with every check."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    from mnistlab import quality, workflows
    from mnistlab.quality.neighbours import nearest_neighbour

    train, test = (
        datasets.load("fashion-mnist-kaggle", "train"),
        datasets.load("fashion-mnist-kaggle", "test"),
    )
    n = 70000 if size != "tiny" else 3000
    images = np.concatenate([train.images, test.images])[:n]
    labels = np.concatenate([train.labels, test.labels])[:n]

    def by_dict() -> int:
        seen: dict[bytes, list[int]] = {}
        for i, row in enumerate(images):
            seen.setdefault(row.tobytes(), []).append(i)
        return sum(len(v) > 1 for v in seen.values())

    exact = timed(lambda: quality.exact_duplicates(images, labels), 3)["median_s"]
    loop = timed(by_dict, 1)["median_s"]
    near = timed(lambda: quality.near_duplicates(images, labels), 1)["median_s"]
    flat = images.reshape(len(images), -1).astype(np.float32)
    brute = timed(lambda: NearestNeighbors(n_neighbors=2, algorithm="brute").fit(flat).kneighbors(flat), 1)[
        "median_s"
    ]
    reduced = PCA(50, random_state=0).fit_transform(flat)
    ours_nn = timed(lambda: nearest_neighbour(reduced), 1)["median_s"]
    sklearn_nn = timed(lambda: NearestNeighbors(n_neighbors=2).fit(reduced).kneighbors(reduced), 1)[
        "median_s"
    ]
    split = train if size != "tiny" else train.subset(slice(0, 3000))
    start = time.perf_counter()
    found = (
        quality.LabelErrors("cnn-fast", 5, 0, min_judge_accuracy=0)  # timed at every size, judged or not
        .find_issues(quality.CheckedData({"train": split}))
        .details["train"]
    )
    label_s = time.perf_counter() - start
    every_check_s = mnist_label_s = None
    if (
        size != "tiny"
    ):  # the label check with its defaults on MNIST's 70,000 images, as `health mnist` runs it
        mnist = quality.CheckedData({split: datasets.load("mnist", split) for split in ("train", "test")})
        mnist_label_s = timed(lambda: quality.LabelErrors().find_issues(mnist), 1)["median_s"]
        # and `mnistlab health mnist` as a user runs it: every check, findings and galleries written
        with tempfile.TemporaryDirectory() as tmp:
            every_check_s = timed(lambda: workflows.health("mnist", out=Path(tmp) / "health"), 1)["median_s"]
    return {
        "images": n,
        "exact_s": exact,
        "dict_loop_s": loop,
        "exact_speedup": loop / exact,
        "near_s": near,
        "brute_knn_raw_pixels_s": brute,
        "near_speedup": brute / near,
        "nearest_neighbour_pca50_s": ours_nn,
        "sklearn_nearest_neighbour_pca50_s": sklearn_nn,
        "label_errors_s": label_s,
        "label_error_images": len(split),
        "suspects": len(found["indices"]),
        "mnist_label_errors_70000_s": mnist_label_s,
        "health_mnist_every_check_s": every_check_s,
        "target": "exact < 2 s, near < 60 s (70000 images), label errors < 180 s (60000 images); MNIST: the "
        "label check on 70000 images < 20 s, health mnist < 60 s",
        "met": exact < 2
        and near < 60
        and label_s < 180
        and (every_check_s is None or (mnist_label_s < 20 and every_check_s < 60)),
    }


def bench_serve(size: str) -> dict:
    """``mnistlab serve`` under load: 8 keep-alive clients on 127.0.0.1 send PNG uploads and JSON pixels (a cnn,
    ONNX Runtime by default), then the same with one bad request in five; every answer must have its status."""
    sys.path.insert(0, str(Path(__file__).parent))
    from serve_load import bench_serve as load_server

    from mnistlab import runs

    train = datasets.load("mnist", "train")
    fit_n = 500 if size == "tiny" else 2000
    clf = models.create("cnn", epochs=1, threads=THREADS).fit(train.images[:fit_n], train.labels[:fit_n])
    images = datasets.load("mnist", "test").images[:500]
    n = 4000 if size != "tiny" else 200
    with tempfile.TemporaryDirectory() as tmp:
        runs.save(tmp, clf, model="cnn", data="mnist", classes=train.classes)
        result = {"onnx": load_server(tmp, images, 8, n)}
        if size != "tiny":  # the smoke test runs one engine; tests/test_serve.py serves with both
            result["pytorch"] = load_server(tmp, images, 8, n, extra=["--no-onnx"])
    default = result["onnx"]
    result["target"] = (
        ">= 500 predictions/s, p99 < 50 ms, no wrong status (default engine, with and without bad requests)"
    )
    result["met"] = all(
        r["predictions_per_s"] >= 500 and r["p99_ms"] < 50 and r["wrong_status"] == 0
        for r in default.values()
    )
    return result


# name -> (function, part of --quick). The long training comparisons are left out of --quick.
BENCHMARKS: dict[str, tuple[Callable[[str], dict], bool]] = {
    "csv_parse": (bench_csv_parse, True),
    "cached_load": (bench_cached_load, True),
    "png_route": (bench_png_route, True),
    "inference": (bench_inference, True),
    "sklearn_overhead": (bench_sklearn_overhead, True),
    "frontier": (bench_frontier, True),
    "record": (bench_record, False),
    "auto_precision": (bench_auto_precision, True),
    "train_vs_pytorch_example": (bench_train_vs_pytorch_example, False),
    "cnn_fashion": (bench_cnn_fashion, False),
    "keras": (bench_keras, False),
    "graph": (bench_graph, True),
    "health": (bench_health, True),
    "planted": (bench_planted, False),
    "label_errors": (bench_label_errors, False),
    "noise_downstream": (bench_noise_downstream, False),
    "real_label_errors": (bench_real_label_errors, False),
    "trust": (bench_trust, False),
    "augmentation": (bench_augmentation, False),
    "serve": (bench_serve, True),
    "start_up": (bench_start_up, True),
    "health_under_attack": (bench_health_under_attack, True),
    "refusals": (bench_refusals, True),
}


def _simd_flags() -> list[str]:
    """The vector extensions that decide oneDNN's kernels (the same VM name has come with and without AVX-512)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return []
    return sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))


def machine() -> dict:
    return {
        "node": platform.node(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "torch_threads": THREADS,
        "bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "simd": _simd_flags(),
        "load_average": os.getloadavg(),
    }


def run(names: list[str], size: str, out_dir: Path) -> Path:
    """Run ``names`` and write one results file for this run alone (a partial run never merges into another
    run's file). Every row carries the machine and the date."""
    torch.set_num_threads(THREADS)
    started = time.strftime("%Y-%m-%d %H:%M")
    host = machine()
    results: dict = {
        "date": started,
        "size": size,
        "benchmarks": names,
        "machine": host,
        "versions": versions(),
        "peak": gemm_peak(size),
    }
    label = (
        f"{host['node']}, {host['cpu_count']} cores, {'AVX-512 bf16' if host['bf16'] else 'no native bf16'}"
    )
    started_stem = time.strftime("%Y-%m-%d-%H%M")
    unfinished = out_dir / f"{started_stem}-{host['node'] or 'machine'}-{size}-unfinished.json"
    for name in names:  # a loop of fits: Ctrl-C or SIGTERM stops the suite, not only the training it hit
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        load = os.getloadavg()
        try:
            with loop_of_fits():
                results[name] = BENCHMARKS[name][0](size)
        except Exception as exc:  # one failing benchmark must not lose the others' numbers
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name].update(
            wall_s=time.perf_counter() - start,
            machine=label,
            date=time.strftime("%Y-%m-%d %H:%M"),
            load_average_before=load,
        )
        print(json.dumps(results[name], default=str)[:400], flush=True)
        # A run of the whole suite takes hours: what it has measured so far survives an interruption.
        write_results(results, unfinished, markdown)
    partial = (
        ""
        if set(names) >= {n for n, (_, quick) in BENCHMARKS.items() if quick or size != "quick"}
        else "-only"
    )
    stem = f"{time.strftime('%Y-%m-%d-%H%M')}-{host['node'] or 'machine'}-{size}{partial}"
    path = out_dir / f"{stem}.json"
    write_results(results, path, markdown)
    unfinished.unlink(missing_ok=True)
    unfinished.with_suffix(".md").unlink(missing_ok=True)
    return path


def _flat(values: dict, prefix: str = "") -> dict:
    """Nested results as one level (``good_only.p99_ms``), floats rounded, lists left out."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            out[f"{prefix}{key}"] = round(value, 3) if isinstance(value, float) else value
    return out


def markdown(results: dict) -> str:
    lines = [
        f"# Benchmarks {results['date']} ({results['size']})",
        "",
        f"Machine: {results['machine']}  ",
        f"Versions: {results['versions']}",
        "",
        "| benchmark | result | target | met |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        if not isinstance(r, dict) or name in {"machine", "versions"}:
            continue
        summary = {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in r.items()
            if k not in {"target", "met", "history"} and not isinstance(v, dict | list)
        }
        nested = {
            k: _flat(v)
            for k, v in r.items()
            if isinstance(v, dict) and k not in {"reference", "mnistlab_cnn", "mnistlab_cnn_one_epoch"}
        }
        text = ", ".join(f"{k}={v}" for k, v in summary.items())
        if nested:
            text += "; " + "; ".join(f"{k}: {v}" for k, v in nested.items())
        met = r.get("met")
        lines.append(
            f"| {name} | {text} | {r.get('target', '-')} | {'-' if met is None else ('yes' if met else 'NO')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="mnistlab benchmark suite")
    parser.add_argument("--only", help="comma-separated benchmark names: " + ", ".join(BENCHMARKS))
    parser.add_argument("--size", choices=["full", "quick", "tiny"], default="full")
    parser.add_argument(
        "--quick", action="store_true", help="the benchmarks marked quick, full size (< 10 min)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    size = "quick" if args.quick else args.size
    names = (
        args.only.split(",")
        if args.only
        else [n for n, (_, quick) in BENCHMARKS.items() if quick or size != "quick"]
    )
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    print(run(names, size, args.out))


if __name__ == "__main__":
    main()
