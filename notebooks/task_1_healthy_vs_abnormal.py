# %% [markdown]
# # Task 1: healthy vs abnormal heartbeat
#
# **Run time**: 13 s quick (`cardiacml notebooks run task_1_healthy_vs_abnormal --quick`, CARDIACML_QUICK=1), measured on 2 shared CPU cores;
# full mode takes several minutes (up to about 10, not re-measured for this version).
#
# The challenge uses the Kaggle PTB files (`ptbdb_normal.csv`, `ptbdb_abnormal.csv`): normal beats
# against beats of patients with myocardial infarction. When they are in `CARDIACML_DATA` they are
# used. Otherwise this notebook trains the MIT-BIH **stand-in** (`protocol="mitbih"`): normal (N) vs
# arrhythmic beats, rebuilt from raw records. That model does *not* detect infarction, and every
# output (run.json, report, model card) says so.

# %%
import os
import tempfile

from cardiacml.tasks import load_task
from cardiacml.training.run import train_run
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
if QUICK:
    print("quick mode: every step on little data and few epochs, to check it runs; its figures say nothing of the "
          "models (run without --quick for those)")
ptb = os.environ.get("CARDIACML_DATA")
kw = dict(data_dir=ptb, protocol="auto" if ptb else "mitbih", max_eval=2000 if QUICK else None,
          max_train=3000 if QUICK else None)
data = load_task("task1", **kw)
print(data.source, "|", data.protocol, "split |", list(data.contract.target_names))
print("note:", data.spec.note(data) or "-")

# %% [markdown]
# ## Train and evaluate
# Our residual CNN (`beatnet`), class-weighted loss, early stopping on validation macro-F1.

# %%
rec = train_run("task1", "beatnet", epochs=1 if QUICK else 10, out=os.path.join(tempfile.mkdtemp(), "t1"),
                figures=False, **kw)
m = rec.metrics["test"]
print(f"accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
fig = plots.plot_confusion(m["confusion_matrix"], m["classes"])

# %% [markdown]
# ## One beat, its label and the predicted probabilities

# %%
from cardiacml.training.loop import predict_array

classes = list(data.contract.target_names)
p = predict_array(rec.module, data.X_test[:1])[0]
fig = plots.plot_beat(data.X_test[0, 0], label=classes[data.y_test[0]], probs=p, classes=classes)
