# %% [markdown]
# # Task 3: activation map from the 12-lead ECG
#
# **Run time**: 22 s quick (`cardiacml notebooks run task_3_activation_map --quick`, CARDIACML_QUICK=1), measured on 2 shared CPU cores;
# full mode takes several minutes (up to about 10, not re-measured for this version).
#
# Input: 12 x 500 ECG (1 kHz). Output: activation time (ms) at 75 heart sites.
# Data: the LLNL dataset when `CARDIACML_INTRACARDIAC` points to it, otherwise cardiacml's
# built-in simulator, split by stimulus site (test hearts are paced from unseen sites).

# %%
import os


from cardiacml.tasks import load_task
from cardiacml.training.loop import predict_array
from cardiacml.training.run import train_run
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
if QUICK:
    print("quick mode: every step on little data and few epochs, to check it runs; its figures say nothing of the "
          "models (run without --quick for those)")
data = load_task("task3", data_dir=os.environ.get("CARDIACML_INTRACARDIAC"), n_sim=200 if QUICK else 2000)
print(data.source, "|", data.protocol)
fig = plots.plot_ecg12(data.X_train[0], title="a training ECG (the model's input window)", units=data.contract.units)

# %% [markdown]
# ## Train the temporal convolutional network
# Its soft-argmax head predicts, for each site, a probability over time whose mean is the activation time.

# %%
hp = {"width": 32, "n_blocks": 4} if QUICK else {}
import tempfile

rec = train_run("task3", "tcn", data_dir=os.environ.get("CARDIACML_INTRACARDIAC"), n_sim=200 if QUICK else 2000,
                epochs=3 if QUICK else 20, batch_size=32, lr=2e-3, hparams=hp, out=os.path.join(tempfile.mkdtemp(), "t3"),
                figures=False)
model, m = rec.module, rec.metrics["test"]
print(f"MAE {m['mae_ms']:.2f} ms (predicting the mean: {m['constant_baseline_mae_ms']:.2f} ms; std of targets {m['target_std_ms']:.2f} ms)")
print("per region:", {k: round(v, 2) for k, v in m["per_region_mae_ms"].items()})

# %% [markdown]
# ## True vs predicted activation map on the heart (Shepard interpolation of the 75 sites)

# %%
from cardiacml.viz.heart import render_comparison

pred = predict_array(model, data.X_test[:1], kind="regression")[0]
img = render_comparison(data.y_test[0], pred, backend="matplotlib")
import matplotlib.pyplot as plt

plt.figure(figsize=(10, 5)); plt.imshow(img); plt.axis("off");
