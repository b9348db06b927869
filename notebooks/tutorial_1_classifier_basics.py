# %% [markdown]
# # Tutorial 1: classifier basics with cardiacml
#
# **Run time**: 23 s quick (`cardiacml notebooks run tutorial_1_classifier_basics --quick`, CARDIACML_QUICK=1), measured on 2 shared CPU cores;
# full mode takes several minutes (up to about 10, not re-measured for this version).
#
# The challenge's first tutorial trains an image classifier. Here we learn the same ideas
# (data, train/test split, a model, a training loop, accuracy and confusion) on real
# heartbeats from the MIT-BIH Arrhythmia Database, rebuilt by cardiacml from the raw records.
#
# Set `CARDIACML_QUICK=1` for a fast run (used in CI).

# %%
import os


from cardiacml.tasks import load_task
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
if QUICK:
    print("quick mode: every step on little data and few epochs, to check it runs; its figures say nothing of the "
          "models (run without --quick for those)")

# %% [markdown]
# ## 1. Data: one beat = 187 samples at 125 Hz, starting at the R peak

# %%
data = load_task("task2", protocol="random", max_eval=2000 if QUICK else None, max_train=3000 if QUICK else 30000)
print(data.source)
print("train", data.X_train.shape, "test", data.X_test.shape, "classes", list(data.contract.target_names))
fig = plots.plot_beat(data.X_train[0, 0], label=list(data.contract.target_names)[data.y_train[0]])

# %% [markdown]
# ## 2. A classical model first: gradient boosting on hand-made features

# %%
from threadpoolctl import threadpool_limits

from cardiacml.models.classical import ClassicalBeatClassifier
from cardiacml.tasks.metrics import classification_metrics
from cardiacml.utils import resolve_threads

# scikit-learn's gradient boosting takes every core (OpenMP): on busy cores that is about 8x slower than the
# threads cardiacml's policy chooses (README, "Threads"), so it gets those
with threadpool_limits(resolve_threads()):
    clf = ClassicalBeatClassifier(max_iter=50 if QUICK else 300).fit(data.X_train, data.y_train)
m = classification_metrics(data.y_test, clf.predict(data.X_test), list(data.contract.target_names))
print(f"classical: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}")

# %% [markdown]
# ## 3. A convolutional network, trained with the package's loop
# Class imbalance (most beats are N) is handled by a weighted loss; early stopping watches
# the validation macro-F1.

# %%
import tempfile

from cardiacml.training.run import train_run

rec = train_run("task2", "kachuee", protocol="random", max_eval=2000 if QUICK else None,
                max_train=3000 if QUICK else 30000, epochs=1 if QUICK else 8, batch_size=128,
                out=os.path.join(tempfile.mkdtemp(), "cnn"), figures=False)
t = rec.metrics["test"]
print(f"CNN: accuracy {t['accuracy']:.4f}, macro-F1 {t['macro_f1']:.4f}")
fig = plots.plot_confusion(t["confusion_matrix"], t["classes"])

# %% [markdown]
# Note: this is a *random beat split*: beats of one patient are both in training and test data,
# which flatters every model. The Task 2 notebook (`task_2_beat_types`) shows the inter-patient protocol
# (DS1 -> DS2: the test patients are unseen).
