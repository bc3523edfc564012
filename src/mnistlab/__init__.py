"""mnistlab: the workbench for small grayscale image classification (MNIST, Fashion-MNIST and their kin).

Examples
--------
>>> from mnistlab import datasets
>>> train = datasets.load("mnist", split="train")  # doctest: +SKIP
>>> train.images.shape, train.labels.shape  # doctest: +SKIP
((60000, 28, 28), (60000,))
"""

from mnistlab.errors import MnistlabError

__version__ = "0.1.0"
__all__ = ["MnistlabError", "__version__"]
