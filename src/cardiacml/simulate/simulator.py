"""Physics-based simulator writing data in the exact format of the LLNL intracardiac dataset.

Model
-----
* **Activation** (eikonal, graph approximation): shortest paths along the edges of
  the real tetrahedral heart mesh, from one to three stimulus sites on the
  endocardium with onset delays; edge travel time = length / velocity, with a
  per-simulation conduction velocity and optionally faster conduction between
  endocardial nodes (a crude Purkinje layer). Shortest-path times from every
  candidate stimulus node are computed once (Dijkstra) and scaled per simulation.
* **Transmembrane potential**: an action-potential template per node,
  ``Vm(t) = V_rest + U(t - t_act) - R(t - t_act - APD)`` with a 1 ms upstroke to
  about +20 mV, a spike-and-plateau phase and a sigmoid repolarisation; the APD
  is drawn per simulation and shortens with activation time by 0.9-1.5 ms per ms,
  so that late-activated regions repolarise first and T waves are mostly
  concordant with the QRS, as in real hearts.
* **Body-surface ECG**: the dipole-source formula
  ``phi_e(t) = -K sum_k vol_k grad(Vm)_k . (r_e - c_k) / |r_e - c_k|^3``
  over the tetrahedra, with linear (P1) gradients. It is linear in Vm, so it is
  precomputed once as a lead-field matrix (10 x 8033). Because Vm is a sum of
  shifted templates, the ECG is a weighted histogram of activation (and
  repolarisation) times convolved (FFT) with the template: no per-node time
  series is ever formed for the ECG.
* Electrodes RA, LA, LL, RL, V1..V6 sit on a torso surface around the heart,
  oriented with its long axis pointing left, anterior and inferior.

Output per simulation: ``pECGData_<name>.npy`` (500, 10) electrode potentials
(mV) and ``VmData_<name>.npy`` (500, 75) in mV, in ``data_hearts_dd_0p2_*`` folders,
plus ``simulations.csv`` with the parameters of every simulation.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.geometry import HeartGeometry, load_geometry

SIM_VERSION = 2  # bump when the model changes: default-data caches are keyed on it
N_T = 500  # ms at 1 kHz
FINE = 4  # sub-steps per ms for the activation-time histograms
T_MAX = 640  # ms covered by the histograms (repolarisation may fall after 500 ms)
V_REST, V_PEAK, PLATEAU = -85.0, 20.0, 0.75

# Electrode positions (mm) in a body frame centred on the heart: x left, y anterior, z superior.
ELECTRODE_XYZ = np.array([
    [-170.0, 0.0, 150.0],   # RA (right shoulder)
    [110.0, 0.0, 150.0],    # LA (left shoulder)
    [40.0, 0.0, -300.0],    # LL (left hip)
    [-100.0, 0.0, -300.0],  # RL (right hip)
    [-55.0, 75.0, 35.0],    # V1 4th intercostal space, right sternal border
    [-5.0, 80.0, 35.0],     # V2 left sternal border
    [25.0, 80.0, 10.0],     # V3
    [55.0, 70.0, -10.0],    # V4 5th intercostal space, mid-clavicular line
    [95.0, 35.0, -10.0],    # V5 anterior axillary line
    [115.0, -5.0, -10.0],   # V6 mid-axillary line
])


@dataclass
class SimulatorConfig:
    """Parameter ranges of the simulator (uniform draws per simulation).

    Velocities in mm/ms (= m/s), times in ms.
    """

    cv_range: tuple = (0.45, 0.8)
    endo_speedup: float = 2.5
    n_stim_range: tuple = (1, 3)
    stim_delay_range: tuple = (0.0, 30.0)
    apd_range: tuple = (220.0, 300.0)
    apd_slope_range: tuple = (0.9, 1.5)
    rep_width: float = 12.0
    upstroke_width: float = 0.35
    spike_decay: float = 8.0
    noise_mv: float = 0.0
    n_candidates: int = 300


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def template_up(tau, cfg: SimulatorConfig):
    """Depolarisation part U(tau) of the action potential (mV above rest)."""
    amp = V_PEAK - V_REST
    spike = PLATEAU + (1 - PLATEAU) * np.exp(-np.maximum(tau, 0.0) / cfg.spike_decay)
    return amp * _sigmoid(tau / cfg.upstroke_width) * spike


def template_rep(s, cfg: SimulatorConfig):
    """Repolarisation part R(s) (mV), s = time after the APD."""
    return (V_PEAK - V_REST) * PLATEAU * _sigmoid(s / cfg.rep_width)


class HeartModel:
    """Precomputed quantities of the heart mesh for fast simulation.

    Attributes
    ----------
    geometry : HeartGeometry
    endo : ndarray of bool, shape (n_nodes,), endocardial surface nodes
    candidates : ndarray of int, shape (n_candidates,), possible stimulus nodes
    travel : ndarray, shape (n_candidates, n_nodes), float32
        Shortest-path travel time at unit velocity (mm) from each candidate.
    lead_field : ndarray, shape (10, n_nodes), maps nodal Vm (mV) to electrode potentials (mV)
    site_nodes : ndarray of int, shape (75,)
    """

    def __init__(self, cfg: SimulatorConfig | None = None, geometry: HeartGeometry | None = None, seed: int = 0):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra

        self.cfg = cfg or SimulatorConfig()
        g = self.geometry = geometry or load_geometry()
        pts, tet = g.points, g.tetra
        self.endo = self._endocardial_nodes(g)
        # Edge graph with travel distances; endocardial edges are "shorter" (faster).
        pairs = np.concatenate([tet[:, [i, j]] for i in range(4) for j in range(i + 1, 4)])
        pairs = np.unique(np.sort(pairs, axis=1), axis=0)
        length = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
        both_endo = self.endo[pairs[:, 0]] & self.endo[pairs[:, 1]]
        w = np.where(both_endo, length / self.cfg.endo_speedup, length)
        n = len(pts)
        graph = coo_matrix((w, (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
        self.candidates = self._spread(np.flatnonzero(self.endo), self.cfg.n_candidates, seed)
        self.travel = dijkstra(graph, directed=False, indices=self.candidates).astype(np.float32)
        self.site_nodes = g.site_nodes()
        self.body_points = self._to_body(pts)
        self.lead_field = self._lead_field(self.body_points, tet)
        # template sampled on the fine grid at every lag t - bin_time in (-T_MAX, N_T) ms
        lag = np.arange(-T_MAX * FINE, N_T * FINE) / FINE
        self._up_kernel = template_up(lag, self.cfg)
        self._rep_kernel = template_rep(lag, self.cfg)
        # nearest site of each candidate, for metadata / grouped splits
        from scipy.spatial import cKDTree

        self.candidate_site = cKDTree(g.site_xyz).query(pts[self.candidates])[1]

    @staticmethod
    def _endocardial_nodes(g: HeartGeometry) -> np.ndarray:
        """Nodes of the LV and RV endocardial surfaces: boundary components other than the epicardium."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        faces = g.boundary_faces()
        z = g.points[:, 2]
        base = np.all(np.abs(z[faces] - z.max()) < 1e-3, axis=1)
        faces = faces[~base]
        n = len(g.points)
        rows = np.repeat(np.arange(len(faces)), 3)
        adj = coo_matrix((np.ones(rows.size), (faces.ravel(), rows)), shape=(n, len(faces))).tocsr()
        node_graph = adj @ adj.T
        _, labels = connected_components(node_graph, directed=False)
        on_surface = np.zeros(n, bool)
        on_surface[faces.ravel()] = True
        comp_sizes = np.bincount(labels[on_surface])
        epi = np.argmax(comp_sizes)
        return on_surface & (labels != epi)

    @staticmethod
    def _spread(nodes: np.ndarray, k: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        k = min(k, len(nodes))
        return np.sort(rng.choice(nodes, size=k, replace=False))

    def _to_body(self, pts: np.ndarray) -> np.ndarray:
        g = self.geometry
        regions = g.site_regions
        lv, rv = g.site_xyz[regions == "AHA"].mean(0), g.site_xyz[regions == "RV"].mean(0)
        a_h = np.array([0.0, 0.0, -1.0])  # base (z = max) -> apex
        r_h = rv - lv
        r_h -= r_h @ a_h * a_h
        r_h /= np.linalg.norm(r_h)
        a_b = np.array([0.55, 0.45, -0.70])
        a_b /= np.linalg.norm(a_b)
        r_b = np.array([-0.5, 0.8, 0.3])
        r_b -= r_b @ a_b * a_b
        r_b /= np.linalg.norm(r_b)
        H = np.stack([a_h, r_h, np.cross(a_h, r_h)], axis=1)
        B = np.stack([a_b, r_b, np.cross(a_b, r_b)], axis=1)
        return (pts - pts.mean(0)) @ (B @ H.T).T

    @staticmethod
    def _lead_field(pts: np.ndarray, tet: np.ndarray, k: float = 1.0 / (4 * np.pi)) -> np.ndarray:
        x = pts[tet]  # (T, 4, 3)
        D = x[:, 1:] - x[:, :1]  # (T, 3, 3) rows x_i - x_0
        vol = np.abs(np.linalg.det(D)) / 6.0
        S = np.array([[-1.0, 1, 0, 0], [-1.0, 0, 1, 0], [-1.0, 0, 0, 1]])
        Bk = np.linalg.solve(D, np.broadcast_to(S, (len(tet), 3, 4)))  # grad operator (T, 3, 4)
        cen = x.mean(1)
        L = np.zeros((len(ELECTRODE_XYZ), len(pts)))
        for e, re in enumerate(ELECTRODE_XYZ):
            d = re - cen
            lvec = d / np.linalg.norm(d, axis=1, keepdims=True) ** 3
            contrib = -k * vol[:, None] * np.einsum("tc,tcn->tn", lvec, Bk)  # (T, 4)
            np.add.at(L[e], tet, contrib)
        return L

    # ------------------------------------------------------------------
    def draw_params(self, rng: np.random.Generator) -> dict:
        c = self.cfg
        n_stim = int(rng.integers(c.n_stim_range[0], c.n_stim_range[1] + 1))
        stim = rng.choice(len(self.candidates), size=n_stim, replace=False)
        delays = np.sort(rng.uniform(*c.stim_delay_range, size=n_stim))
        delays[0] = 0.0
        return {
            "stim": stim, "delays": delays,
            "cv": float(rng.uniform(*c.cv_range)),
            "apd": float(rng.uniform(*c.apd_range)),
            "apd_slope": float(rng.uniform(*c.apd_slope_range)),
            "onset": float(rng.uniform(5.0, 20.0)),
        }

    def activation(self, p: dict) -> np.ndarray:
        """Activation time (ms) of every mesh node for parameters ``p``."""
        t = self.travel[p["stim"]] / p["cv"] + p["delays"][:, None]
        return t.min(0) + p["onset"]

    def run(self, p: dict, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One simulation: returns (pECGData (500, 10), VmData (500, 75)), both float32 mV."""
        act = self.activation(p)
        apd = p["apd"] - p["apd_slope"] * (act - act.mean())
        rep = act + apd
        ecg = (self._convolve(self._histogram(act), self._up_kernel) - self._convolve(self._histogram(rep), self._rep_kernel)).T
        # (500, 10); V_REST drops out below: the lead field sums to ~0 per electrode
        ecg += V_REST * self.lead_field.sum(1)[None, :]
        if self.cfg.noise_mv and rng is not None:
            ecg += rng.normal(0, self.cfg.noise_mv, ecg.shape)
        tau = np.arange(N_T)[:, None] - act[self.site_nodes][None, :]
        vm = V_REST + template_up(tau, self.cfg) - template_rep(tau - apd[self.site_nodes][None, :], self.cfg)
        return ecg.astype(np.float32), vm.astype(np.float32)

    @staticmethod
    def _convolve(h: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """sum_j h[:, j] * template(t - j / FINE) at t = 0..499 ms, by FFT convolution: (10, 500)."""
        from scipy.signal import fftconvolve

        full = fftconvolve(h, kernel[None, :], axes=1)
        return full[:, T_MAX * FINE::FINE][:, :N_T]

    def _histogram(self, times: np.ndarray) -> np.ndarray:
        """Lead-field weights binned by time with linear interpolation: (10, T_MAX*FINE)."""
        nb = T_MAX * FINE
        pos = np.clip(times * FINE, 0, nb - 1.000001)
        i0 = pos.astype(np.int64)
        f = pos - i0
        h = np.zeros((len(self.lead_field), nb))
        for e, w in enumerate(self.lead_field):
            h[e] = np.bincount(i0, w * (1 - f), minlength=nb) + np.bincount(i0 + 1, w * f, minlength=nb)[:nb]
        return h


_MODEL: HeartModel | None = None


def _init_worker(model):
    global _MODEL
    _MODEL = model


def simulate_one(model: HeartModel, seed: int, index: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulation ``index`` of the run seeded ``seed`` (independent of how work is split)."""
    rng = np.random.default_rng([seed, index])
    p = model.draw_params(rng)
    ecg, vm = model.run(p, rng)
    meta = {
        "n_stim": len(p["stim"]),
        "stim_nodes": " ".join(str(int(model.candidates[s])) for s in p["stim"]),
        "stim_site": model.geometry.site_names[model.candidate_site[p["stim"][0]]],
        "stim_group": int(p["stim"][0]),
        "cv": p["cv"], "apd": p["apd"], "apd_slope": p["apd_slope"], "onset": p["onset"],
        "stim_delays": " ".join(f"{d:.2f}" for d in p["delays"]),
    }
    return ecg, vm, meta


def _work(args):
    seed, indices, folder, stem = args
    rows = []
    for i in indices:
        ecg, vm, meta = simulate_one(_MODEL, seed, i)
        name = f"{stem}_{i:06d}"
        np.save(folder / f"pECGData_{name}.npy", ecg)
        np.save(folder / f"VmData_{name}.npy", vm)
        rows.append({"name": name, "index": i, **meta})
    return rows


def simulate_dataset(n: int, out_dir: str | os.PathLike, *, seed: int = 0, jobs: int = 1,
                     cfg: SimulatorConfig | None = None, model: HeartModel | None = None,
                     show_progress: bool | None = None) -> Path:
    """Simulate ``n`` hearts into ``out_dir/data_hearts_dd_0p2_sim_s{seed}/``; return that folder.

    Output files follow the real dataset's names and shapes; ``simulations.csv``
    lists each simulation's parameters (stimulus sites, velocity, APD).
    """
    import pandas as pd

    from ..utils import progress

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    cfg = cfg or SimulatorConfig()
    model = model or HeartModel(cfg, seed=0)
    stem = f"hearts_dd_0p2_sim_s{seed}"
    folder = Path(out_dir) / f"data_{stem}"
    folder.mkdir(parents=True, exist_ok=True)
    chunk = max(1, min(200, n // max(1, 4 * jobs)))
    tasks = [(seed, range(s, min(n, s + chunk)), folder, stem) for s in range(0, n, chunk)]
    rows = []
    bar = progress(total=n, desc="simulating", unit="sim", disable=True if show_progress is False else None)
    if jobs > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(model,)) as pool:
            for part in pool.imap_unordered(_work, tasks):
                rows += part
                bar.update(len(part))
    else:
        _init_worker(model)
        for t in tasks:
            part = _work(t)
            rows += part
            bar.update(len(part))
    bar.close()
    meta = pd.DataFrame(rows).sort_values("index")
    meta.assign(**{k: str(v) for k, v in asdict(cfg).items() if isinstance(v, tuple)}).to_csv(folder / "simulations.csv", index=False)
    return folder
