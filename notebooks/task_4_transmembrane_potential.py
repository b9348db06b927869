# %% [markdown]
# # Task 4: transmembrane potentials from the 12-lead ECG
#
# **Run time**: 21 s quick (`cardiacml notebooks run task_4_transmembrane_potential --quick`, CARDIACML_QUICK=1), measured on 2 shared CPU cores;
# full mode takes several minutes (up to about 10, not re-measured for this version).
#
# Input: 12 x 500 ECG. Output: Vm (mV) at 75 sites over 500 ms (75 x 500). The activation map of
# Task 3 can be derived from the predicted Vm: the upstroke's crossing of -40 mV (a smooth prediction
# may never reach 0 mV, the dataset's own definition, so that threshold would lose sites).

# %%
import os


import tempfile

from cardiacml.datasets.intracardiac import upstroke_times
from cardiacml.tasks import load_task
from cardiacml.training.loop import predict_array
from cardiacml.training.run import train_run
from cardiacml.viz import plots

QUICK = os.environ.get("CARDIACML_QUICK", "0") == "1"
if QUICK:
    print("quick mode: every step on little data and few epochs, to check it runs; its figures say nothing of the "
          "models (run without --quick for those)")
data = load_task("task4", data_dir=os.environ.get("CARDIACML_INTRACARDIAC"), n_sim=200 if QUICK else 2000)
hp = {"width": 32, "n_blocks": 4} if QUICK else {}
rec = train_run("task4", "tcn", data_dir=os.environ.get("CARDIACML_INTRACARDIAC"), n_sim=200 if QUICK else 2000,
                epochs=3 if QUICK else 20, batch_size=32, lr=2e-3, hparams=hp, out=os.path.join(tempfile.mkdtemp(), "t4"),
                figures=False)
model, m = rec.module, rec.metrics["test"]
print(f"RMSE {m['rmse_mv']:.2f} mV, mean per-site r {m['pearson_r_mean']:.3f}, activation MAE from Vm "
      f"{m['activation_mae_ms_from_vm']:.2f} ms ({m['activation_missed']} site(s) never activated)")

# %%
pred = predict_array(model, data.X_test[:2], kind="sequence")
fig = plots.plot_vm_traces(data.y_test[0], pred[0], list(data.contract.target_names))
act_pred = upstroke_times(pred[0])
print("activation from predicted Vm (first 5 sites):", act_pred[:5])

# %% [markdown]
# ## Vm propagating over the heart (GIF), and a file for ParaView

# %%
from cardiacml.viz.heart import animate_vm, export_vtu, shepard_interpolate

out = tempfile.mkdtemp()
gif = animate_vm(pred[0], os.path.join(out, "vm.gif"), step_ms=50 if QUICK else 10, backend="matplotlib", window_size=(240, 240))
vtu = export_vtu({"activation_ms": shepard_interpolate(act_pred)}, os.path.join(out, "act.vtu"))
print(gif, vtu)
