# %% [markdown]
# # Tutorial 2: regression basics with cardiacml
#
# Predict a continuous quantity from a signal. We use cardiacml's built-in heart simulator:
# from a 12-lead ECG, predict the *total activation time* of the heart (the latest activation
# among the 75 sites), first with linear regression, then with a small neural network.

# %%
import os
import tempfile

import numpy as np

from cardiacml.datasets.intracardiac import open_dataset
from cardiacml.simulate import simulate_dataset

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
root = tempfile.mkdtemp()
simulate_dataset(150 if QUICK else 1500, root, seed=0)
ds = open_dataset(root)
X = np.asarray(ds.ecg).reshape(len(ds), -1)
y = np.nanmax(ds.act, axis=1)  # total activation time (ms)
print(ds, "target range", y.min(), y.max())

# %% [markdown]
# ## Linear regression (ridge) on the raw samples

# %%
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
ridge = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(Xtr, ytr)
print(f"ridge MAE {mean_absolute_error(yte, ridge.predict(Xte)):.2f} ms; predicting the mean: "
      f"{mean_absolute_error(yte, np.full_like(yte, ytr.mean())):.2f} ms")

# %% [markdown]
# ## A small 1-D CNN from the registry

# %%
import torch

from cardiacml.models import create_model

torch.manual_seed(0)
net = create_model("squeezenet1d", n_leads=12, n_times=500, n_outputs=1)
Xt = torch.tensor(np.asarray(ds.ecg), dtype=torch.float32)
Xt = (Xt - Xt.mean((0, 2), keepdim=True)) / Xt.std((0, 2), keepdim=True)
yt = torch.tensor(y, dtype=torch.float32)
idx = np.random.default_rng(0).permutation(len(yt))
tr, te = idx[: int(0.75 * len(idx))], idx[int(0.75 * len(idx)):]
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
mu, sd = yt[tr].mean(), yt[tr].std()
for epoch in range(5 if QUICK else 40):
    net.train()
    for b in np.array_split(np.random.permutation(tr), max(1, len(tr) // 32)):
        loss = torch.nn.functional.l1_loss(net(Xt[b])[:, 0], (yt[b] - mu) / sd)
        opt.zero_grad()
        loss.backward()
        opt.step()
net.eval()
with torch.no_grad():
    pred = net(Xt[te])[:, 0] * sd + mu
print(f"CNN MAE {float((pred - yt[te]).abs().mean()):.2f} ms")
