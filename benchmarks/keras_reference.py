"""Keras references for the benchmark suite, run in their own virtual environment (.venv-keras).

    .venv-keras/bin/python benchmarks/keras_reference.py mlp|cnn DATA_DIR EPOCHS THREADS SEED TARGET [LIMIT]

DATA_DIR holds the four IDX files of a data set (mnistlab's cache folder). The Keras tutorial's MLP (Flatten ->
Dense(128, relu) -> Dense(10), Adam, batch 32) or the Kaggle Fashion-MNIST CNN tutorial's CNN (Conv(64, 3x3, relu) -> MaxPool(2) ->
Dropout(0.25) -> Flatten -> Dense(32, relu) -> Dense(10), Adam 1e-3, batch 64) as the tutorials write them; prints
one JSON line: backend, per-epoch cumulative training seconds and test accuracy. Training stops after the first
epoch whose test accuracy reaches TARGET (the time to the target is what the suite compares).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def read_idx(path: str) -> np.ndarray:
    data = np.fromfile(path, np.uint8)
    ndim = int(data[3])
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i].tobytes(), "big") for i in range(ndim)]
    return data[4 + 4 * ndim :].reshape(dims)


def main() -> None:
    kind, data_dir, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seed, target = int(sys.argv[5]), float(sys.argv[6])
    limit = int(sys.argv[7]) if len(sys.argv) > 7 else None
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    x = read_idx(f"{data_dir}/train-images-idx3-ubyte")[:limit] / 255.0
    y = read_idx(f"{data_dir}/train-labels-idx1-ubyte")[:limit].astype("int64")
    xt = read_idx(f"{data_dir}/t10k-images-idx3-ubyte") / 255.0
    yt = read_idx(f"{data_dir}/t10k-labels-idx1-ubyte").astype("int64")
    if kind == "mlp":
        model = keras.Sequential(
            [keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
        )
        batch = 32
    else:
        x, xt = x[..., None], xt[..., None]
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2),
                layers.Dropout(0.25),
                layers.Flatten(),
                layers.Dense(32, activation="relu"),
                layers.Dense(10),
            ]
        )
        batch = 64
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        metrics=["accuracy"],
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history, elapsed = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        elapsed += time.perf_counter() - start
        accuracy = float(model.evaluate(xt, yt, batch_size=1024, verbose=0)[1])
        history.append({"epoch": epoch, "seconds": elapsed, "test_accuracy": accuracy})
        if accuracy >= target:
            break
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "history": history,
            }
        )
    )


if __name__ == "__main__":
    main()
