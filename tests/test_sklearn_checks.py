"""scikit-learn's own estimator test suite over what this project wrote: ``TorchClassifier`` with each registered
network, ``FlattenPixels``, and the pipeline ``FlattenPixels -> [scaler] -> estimator`` once per kind of scaling
step (the estimator inside is scikit-learn's own, tested by scikit-learn itself, so one cheap one stands for all).

The input contract: rows of finite numbers, dense; images (N, 28, 28) or (N, 784). The dense networks take any
(N, D); the convolutional networks need 28x28 images, so the checks that feed them 1-10 features per row cannot
apply to them and are not generated (they would only fail: 84 tests that trained nothing). The same
``TorchClassifier`` code passes those checks with the dense networks. Each expected failure below says why.
"""

import functools
import warnings

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import estimator_checks_generator

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

# The checks whose data has 1-10 features per row: a convolutional network refuses it (it needs 28x28 images).
IMAGES_ONLY = frozenset(
    {
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
    }
)


def is_convolutional(estimator) -> bool:
    return (
        isinstance(estimator, models.TorchClassifier) and networks.get(estimator.architecture).convolutional
    )


def expected_failures(estimator) -> dict[str, str]:
    """The checks that run and are expected to fail, each with the reason (xfail, so a fix shows as XPASS)."""
    if isinstance(estimator, models.TorchClassifier):
        return (
            {"check_methods_subset_invariance": FLOAT32}
            if networks.get(estimator.architecture).width_applies
            else {}
        )
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


def check_name(check) -> str:
    """The check function's name (sklearn wraps each in ``functools.partial``, which flattens nested ones)."""
    return (check.func if isinstance(check, functools.partial) else check).__name__


def label(estimator) -> str:
    if isinstance(estimator, models.TorchClassifier):
        return estimator.architecture
    if isinstance(estimator, models.FlattenPixels):
        return "FlattenPixels"
    return "-".join(type(step).__name__ for _, step in estimator.steps)  # the scaler tells them apart


def check_id(estimator, check) -> str:
    keywords = check.keywords if isinstance(check, functools.partial) else {}
    options = ",".join(f"{key}={value}" for key, value in sorted(keywords.items()))
    return f"{label(estimator)}-{check_name(check)}" + (f"({options})" if options else "")


def generated_checks(estimator) -> list:
    """scikit-learn's checks for one estimator, as ``pytest.param``s: the image-only ones left out for the
    convolutional networks, the expected failures marked xfail with their reason."""
    params = []
    skipped = IMAGES_ONLY if is_convolutional(estimator) else frozenset()
    for item in estimator_checks_generator(
        estimator, legacy=True, expected_failed_checks=expected_failures(estimator), mark="xfail"
    ):
        values, marks = (item.values, item.marks) if hasattr(item, "values") else (item, ())
        if check_name(values[1]) not in skipped:
            params.append(pytest.param(*values, marks=marks, id=check_id(*values)))
    return params


CHECKS = [param for estimator in instances() for param in generated_checks(estimator)]


def test_every_registered_network_and_scaling_step_is_checked():
    """The list is derived from the registry: a network registered tomorrow is checked without editing this."""
    checked = list(instances())
    archs = {e.architecture for e in checked if isinstance(e, models.TorchClassifier)}
    assert archs == set(networks.NETWORKS)
    assert sum(isinstance(e, models.FlattenPixels) for e in checked) == 1
    assert len(checked) == len(networks.NETWORKS) + 1 + len(SCALERS)
    assert {label(e) for e in checked} == {label(p.values[0]) for p in CHECKS}, "each one has its checks"


def test_the_image_only_checks_are_scikit_learn_s_and_left_out_for_convolutional_networks_only():
    """Each name left out is a check scikit-learn still runs (a renamed check must not vanish silently), the
    dense networks still run every one of them, and each convolutional network keeps the rest."""
    dense = next(e for e in instances() if isinstance(e, models.TorchClassifier) and not is_convolutional(e))
    dense_names = {check_name(p.values[1]) for p in generated_checks(dense)}
    assert dense_names >= IMAGES_ONLY
    for estimator in filter(is_convolutional, instances()):
        names = {check_name(p.values[1]) for p in generated_checks(estimator)}
        assert names == dense_names - IMAGES_ONLY, estimator.architecture


@pytest.mark.parametrize(("estimator", "check"), CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of tiny fits
        check(estimator)
