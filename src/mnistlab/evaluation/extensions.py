"""Deprecated: the studies moved to :mod:`mnistlab.evaluation.studies`, and the package shows them
(``from mnistlab.evaluation import multilabel_study, denoise_study``). This module keeps
``from mnistlab.evaluation.extensions import multilabel_study`` working, with a warning; it will be removed."""

import warnings

from mnistlab.evaluation.studies import (  # noqa: F401
    LABEL_FUNCTIONS,
    add_noise,
    denoise_study,
    multilabel_study,
    multilabel_targets,
    psnr,
)

warnings.warn(
    "mnistlab.evaluation.extensions is deprecated: import the same functions from mnistlab.evaluation",
    DeprecationWarning,
    stacklevel=2,
)
