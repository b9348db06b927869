import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
os.environ["CARDIACML_PROGRESS"] = "0"

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CARDIACML_SHARED", REPO.parent / "shared" / "data"))


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CARDIACML_SHARED)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session gets its own cache directory (no state from the developer's machine)."""
    d = tmp_path_factory.mktemp("cardiacml_cache")
    os.environ["CARDIACML_CACHE"] = str(d)
    os.environ["CARDIACML_MITDB"] = str(SHARED / "mitdb")
    yield d


@pytest.fixture(scope="session")
def shared() -> Path:
    return need(SHARED)


@pytest.fixture(scope="session")
def mitdb(shared) -> Path:
    return need(shared / "mitdb")


@pytest.fixture(scope="session")
def all_beats(mitdb):
    from cardiacml.datasets.mitbih import build_beats

    return build_beats(mitdb, n_jobs=2)


@pytest.fixture(scope="session")
def sim_root(tmp_path_factory):
    """A small simulator dataset (real file names and shapes)."""
    from cardiacml.simulate import simulate_dataset

    root = tmp_path_factory.mktemp("sim")
    simulate_dataset(160, root, seed=1, jobs=1, show_progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mitdb):
    """A one-epoch Task 2 run (kachuee, 600 beats): checkpoints, folders and predict are tested on it."""
    from cardiacml.training.run import train_run

    out = tmp_path_factory.mktemp("tiny") / "run"
    rec = train_run("task2", "kachuee", mitdb=mitdb, max_train=600, max_eval=300, out=out, log=lambda *a: None,
                    epochs=1, batch_size=64, threads=1, figures=False)
    return out, rec


def write_fixture_pair(folder: Path, name: str, rng, ecg=None, vm=None):
    """A pECGData/VmData pair with the exact real names and shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    ecg = rng.normal(size=(500, 10)) if ecg is None else ecg
    if vm is None:
        vm = np.full((500, 75), -85.0)
        for j in range(75):
            vm[rng.integers(10, 200):, j] = 20.0
    np.save(folder / f"pECGData_{name}.npy", ecg)
    np.save(folder / f"VmData_{name}.npy", vm)
    return ecg, vm
