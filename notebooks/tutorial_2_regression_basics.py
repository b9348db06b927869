# %% [markdown]
# # Tutorial 2: regression basics with cardiacml
#
# **Run time**: 22 s quick (`cardiacml notebooks run tutorial_2 --quick`: 600 hearts, 8 epochs), about 2.5 min full
# (1,500 hearts, 20 epochs); measured on 2 shared CPU cores.
#
# Predict a continuous quantity from a signal. We use cardiacml's built-in heart simulator:
# from a 12-lead ECG, predict the *latest activation time* of the heart: when the last of the 75
# sites activates, in ms from the start of the recording. (The *total activation time* of physiology,
# and of `cardiacml.inference.physiology`, is latest minus earliest: this target is that plus the
# few ms, median 8, before the first site activates.) Three answers on **the same held-out hearts**: predicting the
# training mean (the floor any model must beat), ridge regression on the raw samples, and a
# small temporal convolutional network (the `tcn` of the registry, the architecture of the
# shipped `heart-act` model).

# %%
import os
import tempfile
import time

import numpy as np

from cardiacml.datasets.intracardiac import open_dataset
from cardiacml.simulate import simulate_dataset

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
if QUICK:
    print("quick mode: every step on little data and few epochs, to check it runs; its figures say nothing of the "
          "models (run without --quick for those)")
N_HEARTS, EPOCHS = (600, 8) if QUICK else (1500, 20)
root = tempfile.mkdtemp()
simulate_dataset(N_HEARTS, root, seed=0)
ds = open_dataset(root)
ecg = np.asarray(ds.ecg, dtype=np.float32)  # (n, 12 leads, 500 samples at 1 kHz), mV
y = np.nanmax(ds.act, axis=1).astype(np.float32)  # latest activation time (ms)
print(ds, f"; latest activation time {y.mean():.1f} +- {y.std():.1f} ms")

# one split for all three models: 75 % of the hearts to train, 25 % held out
idx = np.random.default_rng(0).permutation(len(y))
tr, te = idx[: int(0.75 * len(idx))], idx[int(0.75 * len(idx)):]

# %% [markdown]
# ## The floor and the linear baseline
#
# Predicting the training mean for every heart gives the error of knowing nothing about the ECG.
# Ridge regression on the 6,000 raw samples (12 leads x 500) is the simplest model that looks at it.

# %%
from sklearn.linear_model import RidgeCV

results = {"predicting the mean": float(np.abs(y[te] - y[tr].mean()).mean())}
X = ecg.reshape(len(ecg), -1)
ridge = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(X[tr], y[tr])
results["ridge regression"] = float(np.abs(ridge.predict(X[te]) - y[te]).mean())
for name, mae in results.items():
    print(f"{name:<22} test MAE {mae:.2f} ms")

# %% [markdown]
# ## A temporal convolutional network from the registry
#
# `tcn` with `out="vector"` ends in a *soft-argmax* head: for each output, a softmax over the 500
# time samples of a learned score, whose expected time is the prediction. It builds in what a
# linear model must learn from data: the answer is a moment of the recording (here, the end of
# the QRS complex). The recipe is the one README gives for the heart models (AdamW, one-cycle
# schedule, peak lr 5e-3, batch 32, L1 loss in ms); a smaller width keeps the tutorial fast.
# (`squeezenet1d` at lr 2e-3 collapses to the mean on this data: see README.)

# %%
import torch

from cardiacml.models import create_model
from cardiacml.utils import resolve_threads

# cardiacml's thread policy (README, "Threads"), which train_run applies and this hand-written loop must ask for:
# PyTorch's default, one thread per core, fights other processes for the cores (3-8x slower on 2 shared cores)
torch.set_num_threads(resolve_threads())
torch.manual_seed(0)
net = create_model("tcn", n_leads=12, n_times=500, n_outputs=1, out="vector", width=32, n_blocks=4)
print(f"tcn: {sum(p.numel() for p in net.parameters()):,} parameters")
scale = ecg[tr].std(axis=(0, 2), keepdims=True)  # per-lead scale from the training hearts only
Xt, yt = torch.tensor(ecg / scale), torch.tensor(y)
n_batches = int(np.ceil(len(tr) / 32))
opt = torch.optim.AdamW(net.parameters(), lr=5e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, 5e-3, total_steps=EPOCHS * n_batches)
t0 = time.time()
for epoch in range(EPOCHS):
    net.train()
    for b in np.array_split(np.random.default_rng(epoch).permutation(tr), n_batches):
        loss = torch.nn.functional.l1_loss(net(Xt[b])[:, 0], yt[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        pred = net(Xt[te])[:, 0].numpy()
    print(f"epoch {epoch + 1}/{EPOCHS}  {time.time() - t0:4.0f} s  held-out MAE {np.abs(pred - y[te]).mean():.2f} ms",
          flush=True)
results["tcn (soft-argmax)"] = float(np.abs(pred - y[te]).mean())

# %% [markdown]
# ## The three answers on the same held-out hearts

# %%
for name, mae in results.items():
    print(f"{name:<22} test MAE {mae:.2f} ms")
best = min(results, key=results.get)
print(f"best: {best}; the network's error is {results['tcn (soft-argmax)'] / results['ridge regression']:.0%} "
      f"of ridge's and {results['tcn (soft-argmax)'] / results['predicting the mean']:.0%} of the mean's")

# %% [markdown]
# The lesson: always report the mean and a linear baseline on the same split. A network earns
# its cost only when it beats both clearly; here the soft-argmax head, which knows the answer
# is a time in the recording, does. The same comparison for the full activation map (75 sites) is
# Task 3 (`notebooks/task_3_activation_map.py`, `cardiacml train task3`).
