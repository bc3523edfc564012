"""Data sets: the registry of named sets, one loader, bring-your-own readers and the writers of every format.

Getting data, one function per need:

- :func:`load`: one split of a registered name, a name given with :func:`register`, or a file or folder;
- :func:`load_splits`: every split of the same;
- :func:`train_and_test`: a workflow's training and test data (a test file, a held-out fraction or the
  registered test split) and where each came from.

Data bigger than memory lives in shard folders (:mod:`mnistlab.datasets.shards`: ``export(..., "shards")``,
:func:`generate_deformed_mnist`); ``load`` reads them with the images left on disk (:class:`ShardedImages`).

Examples
--------
>>> from mnistlab import datasets
>>> datasets.available()
['mnist', 'fashion-mnist-kaggle', 'fashion-mnist']
>>> test = datasets.load("mnist", split="test")  # doctest: +SKIP
>>> test.images.shape, test.classes[:3]  # doctest: +SKIP
((10000, 28, 28), ['0', '1', '2'])

This file only re-exports; each name lives in the module that says what it is.
"""

from mnistlab.datasets.cache import FileStatus, data_home, fetch_npm_package
from mnistlab.datasets.dataset import (
    KINDS,
    PIXEL_FEATURES,
    Dataset,
    check_class_names,
    check_pixel_scale,
    stratified_sample,
    train_val_split,
)
from mnistlab.datasets.deformed import generate_deformed_mnist
from mnistlab.datasets.files import export, from_csv, from_idx, from_image_folder, from_npz
from mnistlab.datasets.fixes import (
    RECORD_FILE,
    apply_fixes,
    read_decisions,
    record_decision,
    start_decisions,
    write_fixed,
)
from mnistlab.datasets.images import MANIFEST_NAME, read_image
from mnistlab.datasets.ink import (
    LIGHT_ON_DARK,
    POLARITIES,
    InkProfile,
    image_polarities,
    ink_profile,
    polarity_mismatch,
    recorded_profile,
    warn_if_mismatched,
)
from mnistlab.datasets.loading import first, kind_of, load, load_splits
from mnistlab.datasets.naming import register
from mnistlab.datasets.npzfile import check_array_member
from mnistlab.datasets.preprocess import PREDICT_RULES, check_preprocess, read_for_model, refuse_blank
from mnistlab.datasets.registered import cache_source, cache_status, fetch, is_cached, verify
from mnistlab.datasets.registry import REGISTRY, DatasetInfo, available, get_info
from mnistlab.datasets.shards import ShardedImages, is_shard_folder
from mnistlab.datasets.sources import fingerprint, resolve
from mnistlab.datasets.splits import TrainTest, check_train_test, limited_test_size, train_and_test
from mnistlab.datasets.summary import DatasetSummary, summary
from mnistlab.datasets.user_registry import user_datasets

__all__ = [
    "KINDS",
    "LIGHT_ON_DARK",
    "MANIFEST_NAME",
    "PIXEL_FEATURES",
    "POLARITIES",
    "PREDICT_RULES",
    "RECORD_FILE",
    "REGISTRY",
    "Dataset",
    "DatasetInfo",
    "DatasetSummary",
    "FileStatus",
    "InkProfile",
    "ShardedImages",
    "TrainTest",
    "apply_fixes",
    "available",
    "cache_source",
    "cache_status",
    "check_array_member",
    "check_class_names",
    "check_pixel_scale",
    "check_preprocess",
    "check_train_test",
    "data_home",
    "export",
    "fetch",
    "fetch_npm_package",
    "fingerprint",
    "first",
    "from_csv",
    "from_idx",
    "from_image_folder",
    "from_npz",
    "generate_deformed_mnist",
    "get_info",
    "image_polarities",
    "ink_profile",
    "is_cached",
    "is_shard_folder",
    "kind_of",
    "limited_test_size",
    "load",
    "load_splits",
    "polarity_mismatch",
    "read_decisions",
    "read_for_model",
    "read_image",
    "record_decision",
    "recorded_profile",
    "refuse_blank",
    "register",
    "resolve",
    "start_decisions",
    "stratified_sample",
    "summary",
    "train_and_test",
    "train_val_split",
    "user_datasets",
    "verify",
    "warn_if_mismatched",
    "write_fixed",
]
