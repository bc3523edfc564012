"""scikit-learn's own estimator test suite over what this project wrote: ``TorchClassifier`` with each registered
network, ``FlattenPixels``, and the pipeline ``FlattenPixels -> [scaler] -> estimator`` once per kind of scaling
step (the estimator inside is scikit-learn's own, tested by scikit-learn itself, so one cheap one stands for all).

The input contract: rows of finite numbers, dense; images (N, 28, 28) or (N, 784). The dense networks take any
(N, D); the convolutional networks need 28x28 images, so the checks that feed them 2-10 features cannot apply.
Each expected failure below says why.
"""

import warnings

from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from mnistlab import models
from mnistlab.models import networks
from mnistlab.models.classic import SCALERS

# Settings that suit the checks' tiny data sets (a few dozen rows of 2-10 standardised features).
DENSE_PARAMS = dict(
    epochs=20, batch_size=16, lr=0.05, validation_split=0.0, input_scaling="standard", threads=1
)
CONV_PARAMS = dict(epochs=1, batch_size=16, threads=1)

PIPELINE = (
    "scikit-learn's Pipeline fits its steps in place, so its 'steps' parameter changes during fit "
    "(a bare sklearn Pipeline fails this check too)"
)
FLOAT32 = "float32 matrix products differ in the last bit with the batch size (2e-7 measured), above the check's 1e-7"
IMAGES_ONLY = "convolutional networks need 28x28 images; the check's data has 1-10 features per row"

CONV_FAILURES = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_classifier_data_not_an_array",
    "check_classifiers_one_label",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_supervised_y_2d",
    "check_decision_proba_consistency",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, models.TorchClassifier):
        spec = networks.get(estimator.architecture)
        if spec.convolutional:
            return dict.fromkeys(CONV_FAILURES, IMAGES_ONLY)
        return {"check_methods_subset_invariance": FLOAT32} if spec.width_applies else {}
    if isinstance(estimator, models.FlattenPixels):
        return {}
    return {"check_estimators_overwrite_params": PIPELINE, "check_dont_overwrite_parameters": PIPELINE}


def instances():
    for name, spec in networks.NETWORKS.items():
        settings = CONV_PARAMS if spec.convolutional else DENSE_PARAMS
        yield models.create(name, **settings)
    yield models.FlattenPixels()
    for scaler in SCALERS:
        yield models.pipeline(LogisticRegression(max_iter=200), scaler)


def test_every_registered_network_and_scaling_step_is_checked():
    """The list is derived from the registry: a network registered tomorrow is checked without editing this."""
    checked = list(instances())
    archs = {e.architecture for e in checked if isinstance(e, models.TorchClassifier)}
    assert archs == set(networks.NETWORKS)
    assert sum(isinstance(e, models.FlattenPixels) for e in checked) == 1
    assert len(checked) == len(networks.NETWORKS) + 1 + len(SCALERS)


@parametrize_with_checks(list(instances()), expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of tiny fits
        check(estimator)
