# %% [markdown]
# # Task 4: transmembrane potentials from the 12-lead ECG
#
# Input: 12 x 500 ECG. Output: Vm (mV) at 75 sites over 500 ms (75 x 500). The activation map of
# Task 3 can be derived from the predicted Vm (first crossing of 0 mV).

# %%
import os

import numpy as np

from cardiacml.data.intracardiac import activation_times
from cardiacml.training.loop import TrainConfig, fit, predict_array
from cardiacml.training.tasks import load_task
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
data = load_task("task4", data_dir=os.environ.get("CARDIACML_INTRACARDIAC"), n_sim=200 if QUICK else 2000)
hp = {"width": 32, "n_blocks": 4} if QUICK else {}
model, ckpt = fit(data, TrainConfig(task="task4", model="tcn", epochs=3 if QUICK else 20, batch_size=32, lr=2e-3, hparams=hp))
m = ckpt["metrics"]["test"]
print(f"RMSE {m['rmse_mv']:.2f} mV, mean per-site r {m['pearson_r_mean']:.3f}, activation MAE from Vm {m['activation_mae_ms_from_vm']:.2f} ms")

# %%
pred = predict_array(model, data.X_test[:2], kind="sequence")
fig = plots.plot_vm_traces(data.y_test[0], pred[0], data.contract["site_names"])
print("activation from predicted Vm (first 5 sites):", activation_times(pred[0], time_axis=-1)[:5])

# %% [markdown]
# ## Vm propagating over the heart (GIF), and a file for ParaView

# %%
import tempfile

from cardiacml.viz.heart import animate_vm, export_vtu, shepard_interpolate

out = tempfile.mkdtemp()
gif = animate_vm(pred[0], os.path.join(out, "vm.gif"), step_ms=50 if QUICK else 10, backend="matplotlib", window_size=(240, 240))
vtu = export_vtu({"activation_ms": shepard_interpolate(activation_times(pred[0], time_axis=-1))}, os.path.join(out, "act.vtu"))
print(gif, vtu)
