# %% [markdown]
# # Task 1: healthy vs abnormal heartbeat
#
# The challenge uses the Kaggle PTB files (`ptbdb_normal.csv`, `ptbdb_abnormal.csv`). When they
# are in `CARDIACML_DATA` they are used; otherwise this notebook runs the same binary task on
# MIT-BIH beats (normal N vs any abnormal class), rebuilt from raw records.

# %%
import os

from cardiacml.training.loop import TrainConfig, fit
from cardiacml.training.tasks import load_task
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
data = load_task("task1", data_dir=os.environ.get("CARDIACML_DATA"), max_eval=2000 if QUICK else None, max_train=3000 if QUICK else None)
print(data.source, "|", data.protocol, "split |", data.contract["classes"])

# %% [markdown]
# ## Train and evaluate
# Our residual CNN (`beatnet`), class-weighted loss, early stopping on validation macro-F1.

# %%
model, ckpt = fit(data, TrainConfig(task="task1", model="beatnet", epochs=1 if QUICK else 10))
m = ckpt["metrics"]["test"]
print(f"accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
fig = plots.plot_confusion(m["confusion_matrix"], m["classes"])

# %% [markdown]
# ## One beat, its label and the predicted probabilities

# %%
from cardiacml.training.loop import predict_array

p = predict_array(model, data.X_test[:1])[0]
fig = plots.plot_beat(data.X_test[0, 0], label=data.contract["classes"][data.y_test[0]], probs=p, classes=data.contract["classes"])
