# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Keras: Fashion-MNIST classification, with mnistlab
#
# The Keras "basic classification" tutorial trains a small dense network on Fashion-MNIST: it shows the first
# 25 training images with their class names, scales the pixels to 0..1, trains
# `Flatten -> Dense(128, relu) -> Dense(10, softmax)` with Adam for a few epochs, measures test loss and accuracy,
# and draws each prediction as the image with the caption "predicted NN% (true)" beside a bar chart of the ten
# class probabilities. Its published accuracy: **~0.87 after 5 epochs, ~0.88 after 10**.
#
# Here is the same workflow with mnistlab. The network is mnistlab's `mlp`; the scaling travels with the model
# (it takes pixels on the 0..255 scale), and 10% of the training images are held out for the learning curves,
# so the test images are measured once, at the end.

# %% tags=["parameters"]
# Parameters: the documentation build sets MNISTLAB_TUTORIAL_SIZE=small in CI (a few thousand images, one
# epoch) so that every tutorial runs in seconds; a student runs it at full size.
import os

SIZE = os.environ.get("MNISTLAB_TUTORIAL_SIZE", "full")
LIMIT = None if SIZE == "full" else 3000  # training images (None: all 60000)
EPOCHS = None if SIZE == "full" else 1  # None: the recipe's own

# %%
# %matplotlib inline
# (figures are matplotlib Figure objects: a cell that ends with one shows it)
from IPython.display import Markdown

from mnistlab import datasets, models, viz
from mnistlab.evaluation import evaluate_estimator

train = datasets.load("fashion-mnist-kaggle", split="train")
test = datasets.load("fashion-mnist-kaggle", split="test")
if LIMIT:
    train, test = train.subset(slice(0, LIMIT)), test.subset(slice(0, LIMIT // 6))
train, test, train.classes

# %% [markdown]
# `fashion-mnist-kaggle` is Fashion-MNIST as released on 2017-08-26, the release Kaggle's CSV files carry (the
# one mnistlab can fetch everywhere; `fashion-mnist` is the current official release). The first 25 training
# images, with their class names:

# %%
viz.SampleGridDisplay.from_dataset(train, n=25).plot().figure_

# %% [markdown]
# ## The network
#
# `models.create("mlp", train)` builds the registered `mlp` with mnistlab's recipe for this kind of data
# (Adam with a cosine-decayed learning rate of 3e-3, batch 64, 3 epochs). The tutorial's own settings (Adam at
# 1e-3, batch 32, no schedule) are one `create` away; both are trained below, with the same seed.

# %%
settings = {"validation_split": 0.1} | ({} if EPOCHS is None else {"epochs": EPOCHS})
recipe = models.create("mlp", train, seed=0, **settings)
tutorial = models.create("mlp", train, seed=0, lr=1e-3, batch_size=32, schedule="none", **settings)
recipe.fit(train.images, train.labels)
tutorial.fit(train.images, train.labels)
recipe

# %%
viz.LearningCurveDisplay.from_history(recipe.history_, title="mlp, mnistlab's recipe").plot().figure_

# %% [markdown]
# ## Test loss and accuracy, measured once

# %%
ev = evaluate_estimator(recipe, test.images, test.labels, test.classes)
ev_tutorial = evaluate_estimator(tutorial, test.images, test.labels, test.classes)
print(f"mnistlab recipe: test accuracy {ev.accuracy:.4f}, test loss {ev.log_loss:.4f}")
print(f"tutorial recipe: test accuracy {ev_tutorial.accuracy:.4f}, test loss {ev_tutorial.log_loss:.4f}")

# %% [markdown]
# ## Predictions, drawn as the tutorial draws them
#
# Each image with "predicted NN% (true)" (blue when right, red when wrong) beside the ten probabilities:

# %%
viz.PredictionGridDisplay.from_evaluation(ev, test.images, n=15).plot().figure_

# %% [markdown]
# ## Published beside measured

# %%
epochs = recipe.history_[-1]["epoch"]
Markdown(
    f"""
| | epochs | test accuracy |
|---|---|---|
| the tutorial, as published | 5 / 10 | ~0.87 / ~0.88 |
| mnistlab `mlp`, the tutorial's settings (lr 1e-3, batch 32) | {epochs} | {ev_tutorial.accuracy:.4f} |
| mnistlab `mlp`, mnistlab's recipe | {epochs} | {ev.accuracy:.4f} |

Size of this run: **{SIZE}** ({len(train)} training images, of which 10% validation; {len(test)} test images).
"""
)

# %% [markdown]
# The same from the command line:
#
# ```bash
# mnistlab data show fashion-mnist-kaggle --out grid.png
# mnistlab train --data fashion-mnist-kaggle --model mlp --seed 0 --out runs/mlp-fashion
# mnistlab evaluate runs/mlp-fashion && mnistlab report runs/mlp-fashion
# ```
