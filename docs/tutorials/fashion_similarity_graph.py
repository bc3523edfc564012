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
# # Fashion-MNIST as a similarity graph of images, with mnistlab
#
# The Fashion-MNIST "CNN + visualization" tutorial trains a CNN, draws its learning curves and confusion matrix
# (Shirt, T-shirt/top and Coat are confused most), then takes the features of 100 test images from several
# places in the network (the input image, the scaled image, the last convolutional feature map of 1152 values,
# the fully connected layer) and turns them into a network of images three ways: **correlation**, a **lasso**
# "score function" (each image's features regressed on all the others with an L1 penalty; non-zero
# coefficients are edges) and **Euclidean distance** (k nearest neighbours). It claims that
#
# 1. the deepest features give the clearest graph,
# 2. with correlation the images cluster by clothing type,
# 3. the images with high betweenness and degree are the ones the CNN misclassifies.
#
# Its code was never published; mnistlab's `analysis` package is a design of it that measures each claim.

# %% tags=["parameters"]
# Parameters: MNISTLAB_TUTORIAL_SIZE=small (what CI runs) trains on 3000 images for one epoch.
import os

SIZE = os.environ.get("MNISTLAB_TUTORIAL_SIZE", "full")
LIMIT = None if SIZE == "full" else 3000  # training images (None: all 60000)
EPOCHS = None if SIZE == "full" else 1  # None: the recipe's 12 (clothes)
COMPARE = 2000 if SIZE == "full" else 300  # test images for the claim-3 measurement

# %%
# %matplotlib inline
# (figures are matplotlib Figure objects: a cell that ends with one shows it)
from IPython.display import Markdown

from mnistlab import datasets, models, representations, viz
from mnistlab.evaluation import evaluate_estimator

train = datasets.load("fashion-mnist-kaggle", "train")
test = datasets.load("fashion-mnist-kaggle", "test")
if LIMIT:
    train = train.subset(slice(0, LIMIT))
settings = {"validation_split": 0.1} | ({} if EPOCHS is None else {"epochs": EPOCHS})
clf = models.create("cnn", train, seed=0, **settings)  # the clothes recipe: 12 epochs, flips
clf.fit(train.images, train.labels)
viz.LearningCurveDisplay.from_history(clf.history_, title="cnn, Fashion-MNIST").plot().figure_

# %%
ev = evaluate_estimator(clf, test.images, test.labels, test.classes)
print(f"test accuracy {ev.accuracy:.4f}")
viz.ConfusionDisplay.from_evaluation(ev, kind="errors").plot().figure_

# %% [markdown]
# ## Features of 100 test images
#
# A stratified sample of 100 test images (10 per class). `representations.layers(clf)` lists every place features can
# come from; `cnn`'s last convolutional map, `pool3`, has the tutorial's 1152 values. `cnn` has no hidden
# dense layer, so its logits stand in for the tutorial's fully connected layer.

# %%
chosen = datasets.stratified_sample(test.labels, 100, seed=0)
images, y_true = test.images[chosen], test.labels[chosen]
y_pred = clf.predict(images)
sources = representations.default_sources(clf)  # input, scaled, pool3, logits
{name: size for name, size in representations.layers(clf).items() if name in sources}

# %%
graphs = {}
for source in sources:
    vectors = representations.features(clf, images, source)
    for method in representations.METHODS:  # correlation, lasso, knn
        graphs[source, method] = representations.GraphAnalysis.from_features(
            vectors, y_true, y_pred, test.classes, method=method, source=source
        )
viz.GraphPanelDisplay.from_analyses(graphs).plot().figure_

# %% [markdown]
# Nodes are coloured by true class and sized by betweenness; misclassified images are ringed.
#
# ## Claims 1 and 2: deeper features, cleaner graphs that cluster by class
#
# Edge purity is the share of edges joining two images of the same class (1.0: every edge stays in its class).

# %%
rows = [g.summary() for g in graphs.values()]
Markdown(
    "| source | method | edges | edge purity | components |\n|---|---|---|---|---|\n"
    + "\n".join(
        f"| {r['source']} | {r['method']} | {r['edges']} | {r['edge_purity']:.3f} | {r['components']} |"
        for r in rows
    )
)

# %% [markdown]
# The most central images of the correlation graph of the last convolutional map, with "true / predicted":

# %%
central = graphs["pool3", "correlation"]
viz.CentralImagesDisplay(
    images, y_true, y_pred, test.classes, central.betweenness(), title="highest betweenness, pool3"
).plot().figure_

# %% [markdown]
# ## Claim 3: are the central images the mistakes?
#
# 100 images hold a handful of mistakes, too few to measure anything. Here `COMPARE` stratified test images
# are used, and each centrality is scored as a detector of "this image is misclassified" (ROC AUC: 0.5 is
# chance), beside the standard detector of mistakes, one minus the largest predicted probability.

# %%
many = datasets.stratified_sample(test.labels, COMPARE, seed=0)
proba = clf.predict_proba(test.images[many])
wrong_pred = proba.argmax(1)
table = []
for source in sources:
    vectors = representations.features(clf, test.images[many], source)
    result = representations.GraphAnalysis(
        representations.similarity_graph(vectors, "knn", k=10),
        test.labels[many],
        wrong_pred,
        test.classes,
        source,
        extra_scores={"max_softmax": representations.max_softmax(proba)},
    )
    found = result.error_detection()
    table.append((source, result.summary()["edge_purity"], found))
Markdown(
    f"{int((wrong_pred != test.labels[many]).sum())} mistakes among {COMPARE} images, kNN graphs (k = 10):\n\n"
    "| source | edge purity | betweenness AUC | degree AUC | 1 - max probability AUC |\n|---|---|---|---|---|\n"
    + "\n".join(
        f"| {s} | {p:.3f} | {f['betweenness']['roc_auc']:.3f} | {f['degree']['roc_auc']:.3f} "
        f"| {f['max_softmax']['roc_auc']:.3f} |"
        for s, p, f in table
    )
)

# %% [markdown]
# ## The tutorial's claims beside what was measured

# %%
purity = {r["source"]: r["edge_purity"] for r in rows if r["method"] == "correlation"}
deep = table[-1]  # the logits
best_betweenness = max(f["betweenness"]["roc_auc"] for _, _, f in table)
degree = [f["degree"]["roc_auc"] for _, _, f in table]
baseline = table[0][2]["max_softmax"]["roc_auc"]
rising = list(purity.values()) == sorted(purity.values())
Markdown(
    f"""
| the tutorial claims | what was measured here ({SIZE} size) | holds? |
|---|---|---|
| the deepest features give the clearest graph | correlation edge purity {", ".join(f"{s} {p:.2f}" for s, p in purity.items())} | {"yes" if rising else "not in order"} |
| with correlation the images cluster by clothing type | {purity["logits"]:.0%} of the logits graph's edges join two images of one class (chance: 10%); kNN on {COMPARE} images: {deep[1]:.0%} | {"yes" if purity["logits"] > 0.5 else "partly"} |
| high betweenness and degree mark the misclassified images | betweenness AUC at best {best_betweenness:.2f}, degree AUC {min(degree):.2f}-{max(degree):.2f}, against {baseline:.2f} for 1 - max probability | {"no: better than chance, never as good as the standard detector" if best_betweenness < baseline else "yes"} |
"""
)

# %% [markdown]
# The command line does the same for any run, with more detectors (deep k-NN, trust score) and every graph
# method: `mnistlab graph RUN --all` and `mnistlab graph RUN --compare` (the user guide's "Similarity graphs"
# page has the full tables).
