"""Deprecated: the studies moved to :mod:`mnistlab.evaluation.studies`, and the package shows them
(``from mnistlab.evaluation import multilabel_study, denoise_study``). This module keeps
``from mnistlab.evaluation.extensions import multilabel_study`` working, with a warning once per process; it will
be removed."""

from mnistlab.errors import warn_deprecated
from mnistlab.evaluation.studies import (  # noqa: F401
    LABEL_FUNCTIONS,
    add_noise,
    denoise_study,
    multilabel_study,
    multilabel_targets,
    psnr,
)

warn_deprecated("mnistlab.evaluation.extensions", "import the same functions from mnistlab.evaluation")
