"""Train and evaluate beat classifiers on MIT-BIH beats rebuilt from the raw records; print a results table.

Usage: python benchmarks/train_beats.py MODEL PROTOCOL EPOCHS [OUT_DIR]
  MODEL: beatnet | kachuee | classical;  PROTOCOL: random | interpatient

Data: ../shared/data/mitdb (48 records), beats built by `cardiacml data build-beats`.
random = stratified 80/20 beat split (patients on both sides, like the Kaggle files);
interpatient = de Chazal DS1 train / DS2 test (unseen patients).
"""

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cardiacml.training.loop import TrainConfig, fit
from cardiacml.training.metrics import classification_metrics
from cardiacml.training.tasks import load_task

model, protocol, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = Path(sys.argv[4] if len(sys.argv) > 4 else f"runs/task2-{model}-{protocol}")
data = load_task("task2", protocol=protocol)
t0 = time.time()
if model == "classical":
    from cardiacml.models.classical import ClassicalBeatClassifier

    clf = ClassicalBeatClassifier().fit(np.concatenate([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val]))
    m = classification_metrics(data.y_test, clf.predict(data.X_test), data.contract["classes"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"test": m}, indent=1))
else:
    _, ck = fit(data, TrainConfig(model=model, epochs=epochs, batch_size=128, lr=3e-3, patience=5, threads=2), out,
                data_args={"protocol": protocol, "seed": 0, "data_dir": None, "mitdb": None})
    m = ck["metrics"]["test"]
print(f"RESULT model={model} protocol={protocol} n_test={m['n']} accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f} "
      f"per_class_f1={ {c: round(v['f1'], 3) for c, v in m['per_class'].items()} } train_s={time.time() - t0:.0f} "
      f"machine={platform.machine()} cpus=2")
