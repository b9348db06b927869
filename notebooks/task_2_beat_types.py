# %% [markdown]
# # Task 2: five beat types (N, S, V, F, Q)
#
# **Run time**: 15 s quick (`cardiacml notebooks run task_2_beat_types --quick`, CARDIACML_QUICK=1), measured on 2 shared CPU cores;
# full mode takes several minutes (up to about 10, not re-measured for this version).
#
# Two protocols, side by side:
# * **random** beat split (like the Kaggle files): patients appear in training *and* test data;
# * **inter-patient** (de Chazal DS1 -> DS2): the test patients are unseen. This is the honest figure.

# %%
import os

import tempfile

from cardiacml.training.run import train_run

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
results, runs = {}, {}
for protocol in ("random", "interpatient"):
    runs[protocol] = train_run("task2", "beatnet", protocol=protocol, max_eval=2000 if QUICK else None,
                               max_train=3000 if QUICK else None, epochs=1 if QUICK else 10,
                               out=os.path.join(tempfile.mkdtemp(), protocol), figures=False)
    results[protocol] = runs[protocol].metrics["test"]

# %%
for protocol, m in results.items():
    per = {c: round(v["f1"], 3) for c, v in m["per_class"].items()}
    print(f"{protocol:>12}: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  F1 per class {per}")

# %% [markdown]
# ## Predict on a raw record
# `cardiacml predict RUN model input` does this from the command line; here with the Python API.

# %%
from cardiacml.tasks.sources import find_mitdb
from cardiacml.inference.predict import predict_file

run = runs["interpatient"].run_dir
print(predict_file(run, find_mitdb() / "100", os.path.join(run, "pred.csv")))
