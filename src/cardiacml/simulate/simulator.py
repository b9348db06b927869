"""Physics-based simulator writing data in the exact format of the LLNL intracardiac dataset.

Model (SIM_VERSION 4: version 3 + conduction disease)
-----------------------------------------------------
* **Activation** -- anisotropic eikonal equation on the tetrahedral biventricular mesh,
  solved once per candidate root node with the fast iterative method (fim-python) for
  rule-based fibres (helix angle +60 deg endocardium to -60 deg epicardium), 0.6 / 0.25
  m/s along / across fibres and a 2 m/s endocardial layer standing in for the Purkinje
  network (:mod:`.anatomy`, :mod:`.build_tables`). A simulation picks 1-3 LV and 0-2 RV
  roots (Durrer et al. 1970: LV septal / paraseptal sites first, RV 5-10 ms later) with
  onset delays; with velocities scaled by one factor and the heart by another, the
  activation time is ``min_r (s / f) T_r(x) + delay_r`` (exact for the eikonal equation).
* **Conduction disease** (version 4; ``SimulatorConfig.conduction_shares``; ``conduction`` column of ``simulations.csv``):
  45 % of hearts get one of: right / left bundle branch block (``rbbb`` / ``lbbb``, 10 % each: no root in the
  blocked ventricle, which is reached through the septum; its activation after its first node is stretched by
  ``bbb_slowing`` 1.3-1.9 because the stored travel times carry the fast endocardial layer everywhere, and a
  blocked bundle's ventricle has no Purkinje breakthrough), left anterior fascicular block (``lafb``, 7 %: no LV
  root near AHA segments 1, 6, 7, 12, 13), an infarct scar (``scar``, 8 %: an LV region of radius 12-25 mm whose
  border zone delays activation by 0.8-2 ms per mm crossed towards the centre and whose core, the inner half,
  adds nothing to the body-surface ECG) and hypertrophy (``lvh``, 8 %: heart scale 1.1-1.3, voltage x1.3-1.8).
  With the along-fibre velocity 0.3-0.6 m/s the total activation time over the 75 sites spans about 35-155 ms
  (1st-99th percentile; normal hearts 42-81 ms, 10th-90th). The BBB stretch and the scar delay are applied to
  the eikonal solution rather than solved for (a new eikonal table per block would take hours to build here):
  the wavefront order is kept, the exact curvature of the detour is not.
* **Action potential** -- Mitchell-Schaeffer model integrated once into a family of
  templates indexed by APD90 (:mod:`.ap`; peak +29 mV, dome +24 mV at 100 ms). APD per node
  = baseline x (cycle length, gKr factors) + transmural (endo longer), apico-basal (apex
  longer) and LV/RV (RV shorter) gradients drawn per simulation + a small positive
  dependence on activation time (electrotonic, as measured in the real data).
* **Body-surface potentials** -- boundary-element lead fields of a homogeneous insulated
  torso for 4 "volunteers" (torso shape / heart pose), Mason-Likar limb electrodes,
  with electrode jitter along the surface (:mod:`.torso`). ECG = lead field x Vm.

Speed: everything expensive is precomputed (package data ``tables_v3.npz``, rebuilt by
``python -m cardiacml.simulate.build_tables``). Because the ECG is linear in Vm and every
node follows a shifted template of its APD class, the ECG is a lead-field weighted 2-D
histogram (APD class x activation time, bilinear weights) times a precomputed matrix of
shifted templates: no per-node time series is ever formed.

Output per simulation: ``pECGData_<name>.npy`` (500, 10) electrode potentials RA, LA, LL,
RL, V1..V6 (mV) and ``VmData_<name>.npy`` (500, 75) in mV, in ``data_hearts_dd_0p2_*``
folders, plus ``simulations.csv`` (or ``simulations_shard{i}of{K}.csv``) with every parameter.
"""

from __future__ import annotations

import os
import secrets
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..datasets.geometry import HeartGeometry, load_geometry
from ..datasets.intracardiac import SIMULATOR_SETTINGS_FILE
from ..errors import UsageError

SIM_VERSION = 4  # bump when the model changes: default-data caches are keyed on it
N_T = 500  # ms at 1 kHz
FINE = 2  # activation-time bins per ms for the ECG histogram
A_MAX = 300  # ms covered by the activation histogram
V_REST = -85.7
REF_CV = 0.6  # m/s along fibres used for the stored travel times
MIN_CV = 0.05  # m/s: the slowest along-fibre velocity accepted (scarred tissue conducts at about 0.05-0.1)
TABLES = Path(__file__).with_name("tables_v3.npz")


CONDUCTION_KINDS = ("normal", "rbbb", "lbbb", "lafb", "scar", "lvh")
ANTERIOR_AHA = ("AHA01", "AHA06", "AHA07", "AHA12", "AHA13")  # anterior / anterolateral LV: the left anterior fascicle


@dataclass
class SimulatorConfig:
    """Parameter ranges of the simulator (uniform draws per simulation unless noted).

    Velocities in mm/ms (= m/s), times in ms, potentials in mV.
    """

    cv_range: tuple = (0.3, 0.6)  # along-fibre velocity; cross-fibre and Purkinje scale with it
    scale_range: tuple = (0.9, 1.1)  # heart size factor
    n_lv_roots: tuple = (1, 3)
    n_rv_roots: tuple = (1, 2)
    onset_range: tuple = (0.0, 0.5)  # first root's stimulus time
    lv_delay_range: tuple = (0.0, 8.0)  # further LV roots after the first
    rv_delay_range: tuple = (0.0, 6.0)  # RV roots after the first LV root
    apd_range: tuple = (305.0, 345.0)  # baseline APD90 at BCL 1000 ms, gKr 1
    # APD gradients (ms across the heart): endocardium and apex longest (in-vivo human data,
    # e.g. Ramanathan 2006; Srinivasan 2016), RV free wall and LV lateral wall shorter or
    # longer. k_act: APD grows with activation time, as measured in the real reference
    # (slope +0.10..+0.23; electrotonic in a detailed model). Ranges fitted to the real
    # reference with benchmarks/sim_compare.py.
    d_transmural_range: tuple = (0.0, 12.0)  # endo minus epi APD
    d_apicobasal_range: tuple = (5.0, 25.0)  # apex minus base APD
    d_rv_range: tuple = (-20.0, 5.0)  # LV minus RV free wall APD
    d_lateral_range: tuple = (0.0, 10.0)  # septum minus LV lateral wall APD
    k_act_range: tuple = (0.15, 0.4)  # d APD / d activation time
    bcl_range: tuple = (700.0, 1200.0)  # cycle length (restitution of the MS gate)
    gkr_range: tuple = (0.6, 1.4)  # IKr conductance factor
    gain_range: tuple = (0.85, 1.15)  # sigma_i / sigma
    jitter: float = 1.0  # electrode displacement, in units of 15 mm (uniform -1..1 per direction)
    noise_mv: float = 0.0  # Gaussian noise on the electrode potentials
    wander_mv: float = 0.0  # baseline wander amplitude (0.1-0.5 Hz sinusoids per electrode)
    # Conduction disease (SIM_VERSION 4): share of simulations per kind; the rest are "normal" (the per-heart kind is
    # the "conduction" column of simulations.csv). See
    # HeartModel.draw_params and the module docstring.
    conduction_shares: tuple = (("rbbb", 0.1), ("lbbb", 0.1), ("lafb", 0.07), ("scar", 0.08), ("lvh", 0.08))

    def __post_init__(self):
        """Refuse impossible settings up front (one-line UsageError naming the option): every range a pair of
        finite numbers, low <= high; velocities, sizes and cycle lengths positive; noise and wander finite, >= 0."""
        import math

        positive = {"cv_range": "--cv-min/--cv-max", "scale_range": "scale", "bcl_range": "bcl", "apd_range": "apd",
                    "gkr_range": "gkr", "gain_range": "gain"}
        for name, value in asdict(self).items():
            opt = positive.get(name, name)
            if name.endswith("_range") or name in ("n_lv_roots", "n_rv_roots"):
                try:
                    lo, hi = (float(v) for v in value)
                except (TypeError, ValueError):
                    raise UsageError(f"{opt}: expected a (low, high) pair of numbers, got {value!r}") from None
                if not (math.isfinite(lo) and math.isfinite(hi)):
                    raise UsageError(f"{opt}: the range ({lo:g}, {hi:g}) must be finite numbers")
                if lo > hi:
                    raise UsageError(f"{opt}: low {lo:g} is above high {hi:g}")
                if name in positive and lo <= 0:
                    raise UsageError(f"{opt}: values must be positive, got {lo:g}")
                if name == "cv_range" and lo < MIN_CV:  # slower: the beat leaves the 500 ms window (1e-300 overflowed)
                    raise UsageError(f"{opt}: velocities below {MIN_CV:g} m/s activate the heart after the 500 ms "
                                     f"window, got {lo:g}")
            elif name == "conduction_shares":
                try:
                    shares = {str(k): float(v) for k, v in value}
                except (TypeError, ValueError):
                    raise UsageError(f"conduction_shares: expected (kind, share) pairs, got {value!r}") from None
                if set(shares) - set(CONDUCTION_KINDS) or any(not 0 <= v <= 1 for v in shares.values()) \
                        or sum(shares.values()) > 1:
                    raise UsageError(f"conduction_shares: kinds among {', '.join(CONDUCTION_KINDS)} with shares in [0, 1] "
                                     f"summing to <= 1, got {value!r}")
            elif name in ("noise_mv", "wander_mv", "jitter"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                    raise UsageError(f"--{name.replace('_', '-')}: must be a finite number >= 0, got {value!r}")


def load_tables(path: Path = TABLES) -> dict:
    """The precomputed tables (see :mod:`.build_tables`) as float32 arrays."""
    from ..errors import MissingDataError

    if not Path(path).is_file():
        raise MissingDataError(f"{path}: simulator tables missing; rebuild with `python -m cardiacml.simulate.build_tables`")
    with np.load(path, allow_pickle=False) as z:
        t = {k: z[k] for k in z.files}
    lead = t["lead"].astype(np.float32) * t["lead_scale"][..., None]
    lead -= lead.mean(-1, keepdims=True)  # exact: a uniform Vm has no gradient, hence no potential
    return {"travel": t["travel"].astype(np.float32) * 0.01, "roots": t["roots"], "root_is_rv": t["root_is_rv"],
            "lead": lead, "electrodes": t["electrodes"]}


class HeartModel:
    """Precomputed quantities for fast simulation (load once, share with worker processes).

    Attributes
    ----------
    geometry : HeartGeometry
    coords : :class:`.anatomy.HeartCoordinates`
    roots : ndarray of int (K,), candidate root nodes; ``root_is_rv`` (K,) bool
    travel : ndarray (K, n_nodes) float32, activation time (ms) from each root at 0.6 m/s
    lead : ndarray (V, 3, 10, n_nodes) float32, lead fields (mV per mV of nodal Vm) of each
        volunteer: nominal electrodes and the two jitter directions (differences)
    templates : :class:`.ap.TemplateFamily`
    site_nodes : ndarray of int (75,)
    """

    def __init__(self, cfg: SimulatorConfig | None = None, geometry: HeartGeometry | None = None, seed: int = 0):
        from scipy.spatial import cKDTree

        from .anatomy import heart_coordinates
        from .ap import TemplateFamily

        self.cfg = cfg or SimulatorConfig()
        g = self.geometry = geometry or load_geometry()
        self.coords = heart_coordinates(g)
        t = load_tables()
        if t["travel"].shape[1] != len(g.points):
            raise ValueError("simulator tables were built for another mesh")
        self.travel, self.roots, self.root_is_rv = t["travel"], t["roots"], t["root_is_rv"]
        self.lead, self.electrodes = t["lead"], t["electrodes"]
        self.site_nodes = g.site_nodes()
        self.root_site = cKDTree(g.site_xyz).query(g.points[self.roots])[1]
        self.templates = TemplateFamily()
        self.lv_roots = np.flatnonzero(~self.root_is_rv)
        self.rv_roots = np.flatnonzero(self.root_is_rv)
        self.root_anterior = np.isin(np.asarray(g.site_names)[self.root_site], ANTERIOR_AHA)
        # kernel[c * NB + j, t] = template_c(t - j / FINE): the ECG is H @ kernel
        nb = A_MAX * FINE
        tf = self.templates
        tau = np.arange(N_T)[None, :] - np.arange(nb)[:, None] / FINE
        idx = np.clip(np.round((tau + tf.pre) / tf.dt).astype(np.int64), 0, tf.vm.shape[1] - 1)
        self.kernel = np.where(tau[None] >= -tf.pre, tf.vm[:, idx], 0.0).astype(np.float32).reshape(-1, N_T)
        self.nb = nb

    @property
    def endo(self) -> np.ndarray:
        return self.coords.endo

    # ------------------------------------------------------------------
    def draw_params(self, rng: np.random.Generator) -> dict:
        """Draw one simulation's parameters (see :class:`SimulatorConfig`)."""
        c = self.cfg
        u = lambda r: float(rng.uniform(*r))  # noqa: E731
        kinds = [k for k, _ in c.conduction_shares]
        shares = np.array([v for _, v in c.conduction_shares], float)
        pick = rng.random()
        cum = np.cumsum(shares)
        kind = kinds[int(np.searchsorted(cum, pick, side="right"))] if pick < (cum[-1] if len(cum) else 0) else "normal"
        n_lv = int(rng.integers(c.n_lv_roots[0], c.n_lv_roots[1] + 1))
        n_rv = int(rng.integers(c.n_rv_roots[0], c.n_rv_roots[1] + 1))
        lv_pool = self.lv_roots
        if kind == "lafb":  # left anterior fascicle blocked: no LV breakthrough in the anterior / anterolateral wall
            lv_pool = self.lv_roots[~self.root_anterior[self.lv_roots]]
        n_lv = 0 if kind == "lbbb" else min(n_lv, len(lv_pool))
        n_rv = 0 if kind == "rbbb" else n_rv
        lv = rng.choice(lv_pool, size=n_lv, replace=False)
        rv = rng.choice(self.rv_roots, size=n_rv, replace=False)
        onset = u(c.onset_range)
        d_lv = np.sort(rng.uniform(*c.lv_delay_range, size=n_lv))
        d_rv = rng.uniform(*c.rv_delay_range, size=n_rv)
        if n_lv:
            d_lv[0] = 0.0
        else:  # LBBB: the first RV root starts the beat
            d_rv = np.sort(d_rv)
            d_rv[0] = 0.0
        p = {
            "roots": np.concatenate([lv, rv]).astype(np.int64), "delays": onset + np.concatenate([d_lv, d_rv]),
            "n_lv": n_lv, "n_rv": n_rv, "onset": onset, "conduction": kind,
            "volunteer": int(rng.integers(len(self.lead))),
            "cv": u(c.cv_range), "scale": u(c.scale_range),
            "apd0": u(c.apd_range), "d_tm": u(c.d_transmural_range), "d_ab": u(c.d_apicobasal_range),
            "d_rv": u(c.d_rv_range), "d_lat": u(c.d_lateral_range), "k_act": u(c.k_act_range),
            "bcl": u(c.bcl_range), "gkr": u(c.gkr_range), "gain": u(c.gain_range),
            "jitter": rng.uniform(-c.jitter, c.jitter, size=(2, 10)),
            "scar_node": -1, "scar_radius": 0.0, "scar_slowing": 0.0,
        }
        p["bbb_slowing"] = float(rng.uniform(1.3, 1.9)) if kind in ("rbbb", "lbbb") else 1.0
        if kind == "scar":  # an LV region (infarct): non-excitable core, slow border zone
            lv_nodes = np.flatnonzero(self.coords.rv < 0.5)
            p["scar_node"] = int(rng.choice(lv_nodes))
            p["scar_radius"] = float(rng.uniform(12.0, 25.0))
            p["scar_slowing"] = float(rng.uniform(0.8, 2.0))  # ms of delay per mm of border zone crossed
        if kind == "lvh":  # hypertrophy: a larger heart (longer paths) and larger voltages
            p["scale"] = float(rng.uniform(1.1, 1.3))
            p["gain"] = float(p["gain"] * rng.uniform(1.3, 1.8))
        return p

    def activation(self, p: dict) -> np.ndarray:
        """Activation time (ms) of every mesh node for parameters ``p``."""
        t = self.travel[p["roots"]] * (p.get("scale", 1.0) * REF_CV / p["cv"]) + np.asarray(p["delays"])[:, None]
        act = t.min(0)
        if p.get("conduction") in ("rbbb", "lbbb"):
            # bundle branch block: no Purkinje breakthrough in the blocked ventricle, which the wave reaches through
            # the septum and then crosses in working myocardium: its activation after the first of its nodes is
            # stretched by bbb_slowing (the stored travel times carry the fast endocardial layer everywhere)
            blocked = self.coords.rv >= 0.5 if p["conduction"] == "rbbb" else self.coords.rv < 0.5
            t_in = act[blocked].min()
            act = np.where(blocked, t_in + p["bbb_slowing"] * (act - t_in), act)
        if p.get("scar_node", -1) >= 0:  # slow border zone: delay grows towards the core (see the module docstring)
            d = self.scar_distance(p)
            act = act + p["scar_slowing"] * np.clip(p["scar_radius"] - d, 0, None)
        return act

    def scar_distance(self, p: dict) -> np.ndarray:
        """Distance (mm) of every node from the scar's centre node."""
        pts = self.geometry.points
        return np.linalg.norm(pts - pts[p["scar_node"]], axis=1)

    def scar_core(self, p: dict) -> np.ndarray:
        """Nodes of the non-excitable core (inner half of the scar radius); empty without scar."""
        if p.get("scar_node", -1) < 0:
            return np.zeros(len(self.geometry.points), bool)
        return self.scar_distance(p) < 0.5 * p["scar_radius"]

    def apd_factor(self, p: dict) -> float:
        """APD scaling by cycle length (Mitchell-Schaeffer gate recovery) and gKr."""
        tp = self.templates.params
        h_thr = 4 * tp.tau_in / tp.tau_out  # gate level at which the plateau collapses
        h = lambda bcl: 1 - np.exp(-(bcl - p["apd0"]) / tp.tau_open)  # noqa: E731
        restitution = 1 + (np.log(h(p["bcl"])) - np.log(h(1000.0))) / np.log(1 / h_thr)
        return float(restitution * p["gkr"] ** -0.2)

    def apd(self, p: dict, act: np.ndarray) -> np.ndarray:
        """APD90 (ms) of every node: gradients not tied to activation + a small electrotonic term."""
        hc = self.coords
        base = (p["apd0"] + p["d_tm"] * (hc.transmural - 0.5) + p["d_ab"] * (0.5 - hc.apicobasal)
                - p["d_rv"] * (hc.rv - 0.5) - p["d_lat"] * (hc.lateral - 0.5))
        return base * self.apd_factor(p) + p["k_act"] * (act - act.mean())

    def lead_field(self, p: dict) -> np.ndarray:
        """(10, n_nodes) lead field of this simulation: volunteer, electrode jitter, heart size, gain."""
        L = self.lead[p["volunteer"]]
        j = p["jitter"]
        L = (L[0] + j[0][:, None] * L[1] + j[1][:, None] * L[2]) * (p["gain"] * p.get("scale", 1.0) ** 2)
        core = self.scar_core(p)
        return L * ~core[None, :] if core.any() else L  # dead tissue adds nothing to the body-surface ECG

    def run(self, p: dict, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One simulation: returns (pECGData (500, 10), VmData (500, 75)), both float32 mV."""
        from scipy.sparse import csr_matrix

        act = self.activation(p)
        apd = self.apd(p, act)
        tf = self.templates
        pos = tf.position(apd)
        a = np.clip(act * FINE, 0, self.nb - 1.000001)
        j0 = a.astype(np.int64)
        fa = a - j0
        c0 = pos.astype(np.int64)
        fc = pos - c0
        c1 = np.minimum(c0 + 1, len(tf.apd) - 1)
        n = len(act)
        rows = np.concatenate([c0 * self.nb + j0, c0 * self.nb + j0 + 1, c1 * self.nb + j0, c1 * self.nb + j0 + 1])
        w = np.concatenate([(1 - fc) * (1 - fa), (1 - fc) * fa, fc * (1 - fa), fc * fa])
        late = act * FINE > self.nb - 1  # activated after the histogram's A_MAX ms (slow --cv-min, blocks): added directly
        if late.any():
            w = w * np.tile(~late, 4)
        lo, hi = int(c0.min()) * self.nb, (int(c1.max()) + 1) * self.nb
        S = csr_matrix((w, (rows - lo, np.tile(np.arange(n), 4))), shape=(hi - lo, n))
        L = self.lead_field(p)
        H = (S @ L.T).T.astype(np.float32)  # (10, bins)
        ecg = (H @ self.kernel[lo:hi]).T.astype(np.float64)  # (500, 10)
        if late.any():
            ecg += (L[:, late] @ tf.sample(np.arange(N_T)[None, :] - act[late][:, None], pos[late][:, None])).T
        if rng is not None and (self.cfg.noise_mv or self.cfg.wander_mv):
            t = np.arange(N_T)[:, None] / 1000.0
            if self.cfg.wander_mv:
                f = rng.uniform(0.1, 0.5, size=(1, 10))
                ph = rng.uniform(0, 2 * np.pi, size=(1, 10))
                ecg += self.cfg.wander_mv * rng.uniform(0.3, 1.0, size=(1, 10)) * np.sin(2 * np.pi * f * t + ph)
            if self.cfg.noise_mv:
                ecg += rng.normal(0, self.cfg.noise_mv, ecg.shape)
        s = self.site_nodes
        vm = V_REST + tf.sample(np.arange(N_T)[:, None] - act[s][None, :], pos[s][None, :])
        return ecg.astype(np.float32), vm.astype(np.float32)

    def describe(self, p: dict) -> dict:
        """Metadata row (simulations.csv) of parameters ``p``."""
        r = p["roots"]
        return {
            "volunteer": p["volunteer"], "scale": p["scale"], "cv": p["cv"],
            "n_stim": len(r), "n_lv_roots": p["n_lv"], "n_rv_roots": p["n_rv"],
            "stim_nodes": " ".join(str(int(self.roots[k])) for k in r),
            "stim_site": self.geometry.site_names[self.root_site[r[0]]],
            "stim_group": int(r[0]),
            "onset": p["onset"], "stim_delays": " ".join(f"{d:.2f}" for d in p["delays"]),
            "apd": p["apd0"], "apd_factor": self.apd_factor(p), "d_transmural": p["d_tm"], "d_apicobasal": p["d_ab"],
            "d_rv": p["d_rv"], "d_lateral": p["d_lat"], "k_act": p["k_act"], "bcl": p["bcl"], "gkr": p["gkr"], "gain": p["gain"],
            "electrode_jitter_mm": " ".join(f"{15.0 * x:.1f}" for x in np.ravel(p["jitter"])),
            "noise_mv": self.cfg.noise_mv, "wander_mv": self.cfg.wander_mv,
            "conduction": p.get("conduction", "normal"), "bbb_slowing": p.get("bbb_slowing", 1.0),
            "scar_node": p.get("scar_node", -1),
            "scar_radius_mm": p.get("scar_radius", 0.0), "scar_slowing_ms_per_mm": p.get("scar_slowing", 0.0),
        }


_MODEL: HeartModel | None = None
_BLAS_LIMIT = None


def _one_blas_thread():
    """One BLAS thread per process: the per-simulation matrices are small, and threaded BLAS
    next to other busy processes is up to 10x slower (measured on 2 cores)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except ImportError:  # scikit-learn brings threadpoolctl; without it keep the default
        return None


def _init_worker(model):
    global _MODEL, _BLAS_LIMIT
    _MODEL = model
    _BLAS_LIMIT = _one_blas_thread()
    # the parent handles Ctrl-C / SIGTERM and terminates the pool; workers just die
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # Linux: die with the parent (a SIGKILLed parent leaves no worker printing BrokenPipe tracebacks)
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def simulate_one(model: HeartModel, seed: int, index: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulation ``index`` of the run seeded ``seed`` (independent of how work is split)."""
    rng = np.random.default_rng([seed, index])
    p = model.draw_params(rng)
    ecg, vm = model.run(p, rng)
    return ecg, vm, model.describe(p)


def describe_one(model: HeartModel, seed: int, index: int) -> dict:
    """Metadata of simulation ``index`` without running it (parameters depend only on (seed, index))."""
    return model.describe(model.draw_params(np.random.default_rng([seed, index])))


def _save_atomic(path: Path, arr: np.ndarray) -> None:
    # a fresh file of an unpredictable name (``.NAME.tmpPID.RANDOM``, as _cleanup knows them): a link planted at a
    # name known in advance would have had the array written over the file it points to (O_EXCL: never opened
    # through one); created with the mode the umask gives, as the plain open did (mkstemp's is 0600)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _work(args):
    seed, indices, folder, stem = args
    rows = []
    for i in indices:
        ecg, vm, meta = simulate_one(_MODEL, seed, i)
        name = f"{stem}_{i:06d}"
        _save_atomic(folder / f"VmData_{name}.npy", vm)
        _save_atomic(folder / f"pECGData_{name}.npy", ecg)
        rows.append({"name": name, "index": i, **meta})
    return rows


def _valid(path: Path, shape: tuple) -> bool:
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
        return a.shape == shape and a.dtype == np.float32 and bool(np.isfinite(a).all())
    except Exception:
        return False


def complete_pairs(folder: Path, seed: int, indices) -> list[int]:
    """The indices among ``indices`` whose simulation pair in ``folder`` is complete and valid (what a re-run keeps)."""
    stem = f"hearts_dd_0p2_sim_s{seed}"
    return [i for i in indices if _valid(Path(folder) / f"pECGData_{stem}_{i:06d}.npy", (N_T, 10))
            and _valid(Path(folder) / f"VmData_{stem}_{i:06d}.npy", (N_T, 75))]


def parse_shard(shard: str | tuple | None) -> tuple[int, int]:
    """'i/K' -> (i, K) with 0 <= i < K; None -> (0, 1)."""
    if shard is None:
        return 0, 1
    if isinstance(shard, str):
        try:
            i, k = (int(x) for x in shard.split("/"))
        except ValueError:
            raise UsageError(f"--shard expects i/K (e.g. 0/4), got {shard!r}") from None
    else:
        i, k = shard
    if not (k >= 1 and 0 <= i < k):
        raise UsageError(f"shard {i}/{k}: need K >= 1 and 0 <= i < K")
    return i, k


def simulate_dataset(n: int, out_dir: str | os.PathLike, *, seed: int = 0, jobs: int = 1,
                     cfg: SimulatorConfig | None = None, model: HeartModel | None = None,
                     show_progress: bool | None = None, shard: str | tuple | None = None) -> Path:
    """Simulate ``n`` hearts into ``out_dir/data_hearts_dd_0p2_sim_s{seed}/``; return that folder.

    Output files follow the real dataset's names and shapes; ``simulations.csv`` lists
    each simulation's parameters. With ``shard="i/K"`` only indices [i n // K, (i+1) n // K)
    are simulated and the table is ``simulations_shard{i}of{K}.csv``. Every file is written
    atomically; re-running the same call resumes (complete, valid pairs are kept). On
    Ctrl-C / SIGTERM the workers are stopped, unpaired files of the run removed and
    KeyboardInterrupt re-raised.
    """
    import pandas as pd

    from ..utils import atomic_path, progress

    from ..utils import check_output

    if n < 1:
        raise UsageError(f"--n must be >= 1, got {n}")
    if jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {jobs}")
    if int(seed) < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    si, sk = parse_shard(shard)
    indices = range(si * n // sk, (si + 1) * n // sk)
    if len(indices) == 0:
        raise UsageError(f"shard {si}/{sk} of {n} simulations holds none (K > n): use at most {n} shards")
    cfg = cfg or SimulatorConfig()
    stem = f"hearts_dd_0p2_sim_s{seed}"
    folder = check_output(Path(out_dir) / f"data_{stem}", what="--out")
    csv_name = "simulations.csv" if sk == 1 else f"simulations_shard{si}of{sk}.csv"

    def files(i):
        name = f"{stem}_{i:06d}"
        return folder / f"pECGData_{name}.npy", folder / f"VmData_{name}.npy"

    _check_same_settings(folder, cfg, seed, n if sk == 1 else None)
    model = model or HeartModel(cfg, seed=0)
    folder.mkdir(parents=True, exist_ok=True)
    _write_settings(folder, cfg, seed)

    done = complete_pairs(folder, seed, indices)
    done_set = set(done)
    todo = [i for i in indices if i not in done_set]
    rows = [{"name": f"{stem}_{i:06d}", "index": i, **describe_one(model, seed, i)} for i in done]
    chunk = max(1, min(100, len(todo) // max(1, 8 * jobs)))
    tasks = [(seed, todo[s:s + chunk], folder, stem) for s in range(0, len(todo), chunk)]
    bar = progress(total=len(indices), initial=len(done), desc="simulating", unit="sim",
                   disable=True if show_progress is False else None)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term) if _main_thread() else None
    pool = None
    try:
        if jobs > 1 and len(tasks) > 1:
            from ..utils import worker_context

            # the heart model travels to each worker once, pickled (about 70 MB, 0.1 s)
            pool = worker_context().Pool(jobs, initializer=_init_worker, initargs=(model,))
            for part in pool.imap_unordered(_work, tasks):
                rows += part
                bar.update(len(part))
            pool.close()
            pool.join()
        else:
            global _MODEL
            _MODEL = model
            limit = _one_blas_thread()
            for t in tasks:
                part = _work(t)
                rows += part
                bar.update(len(part))
            if limit is not None:
                limit.restore_original_limits()
    except KeyboardInterrupt:
        if pool is not None:
            pool.terminate()
            pool.join()
        bar.close()
        _cleanup(folder, [files(i) for i in indices])
        kept = sum(all(f.exists() for f in files(i)) for i in indices)
        import sys

        print(f"\ninterrupted: {kept} of {len(indices)} simulations are complete in {folder}; "
              f"run the same command again to resume", file=sys.stderr)
        raise
    finally:
        if pool is not None:  # any error in a worker: stop the others at once (never wait on a half-dead pool)
            pool.terminate()
            pool.join()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    bar.close()
    meta = pd.DataFrame(rows).sort_values("index")
    meta.insert(2, "n_total", n)
    meta.insert(3, "sim_version", SIM_VERSION)
    # the configured ranges as text; a setting named like a per-heart column (n_lv_roots, n_rv_roots) gets "_range"
    meta = meta.assign(**{(f"{k}_range" if k in meta.columns else k): str(v) for k, v in asdict(cfg).items()
                          if isinstance(v, tuple)})
    with atomic_path(folder / csv_name) as tmp:
        meta.to_csv(tmp, index=False)
    return folder


#: The settings a simulation folder was made with: a re-run resumes only with the same ones.
SETTINGS_FILE = SIMULATOR_SETTINGS_FILE


def _settings(cfg: SimulatorConfig, seed: int) -> dict:
    import json

    return json.loads(json.dumps({"sim_version": SIM_VERSION, "seed": int(seed), "config": asdict(cfg)}, default=str))


def _check_same_settings(folder: Path, cfg: SimulatorConfig, seed: int, n: int | None) -> None:
    """Refuse to resume into ``folder`` with other settings than it was made with (the kept hearts would be listed
    with the new settings' parameters), or with fewer simulations than it holds (``n``, unsharded runs: the extra
    files would stay and be read as part of the dataset)."""
    import json

    if not folder.is_dir():
        return
    f = folder / SETTINGS_FILE
    if f.is_file():
        try:
            old = json.loads(f.read_text())
        except (OSError, ValueError):
            old = None
        new = _settings(cfg, seed)
        if old != new:
            diff = ([k for k in new["config"] if (old or {}).get("config", {}).get(k) != new["config"][k]]
                    + [k for k in ("sim_version", "seed") if (old or {}).get(k) != new[k]])
            raise UsageError(f"{folder} holds hearts simulated with other settings ({', '.join(diff) or SETTINGS_FILE}"
                             " differ): resuming would list them with this run's settings. Choose another --out, or "
                             "remove that folder to simulate it again")
    if n is not None:
        beyond = [q.name for q in folder.glob("pECGData_*.npy") if _index_of(q.name) is not None and _index_of(q.name) >= n]
        if beyond:
            raise UsageError(f"{folder} holds {len(beyond)} simulation(s) beyond --n {n} (e.g. {sorted(beyond)[0]}): "
                             "they would be read as part of the dataset. Give --n as large as that run's, or another --out")


def _index_of(name: str) -> int | None:
    import re

    m = re.search(r"_(\d{6})\.npy$", name)
    return int(m.group(1)) if m else None


def _write_settings(folder: Path, cfg: SimulatorConfig, seed: int) -> None:
    import json

    from ..utils import atomic_path

    f = folder / SETTINGS_FILE
    if f.is_file():
        return
    with atomic_path(f) as tmp:
        tmp.write_text(json.dumps(_settings(cfg, seed), indent=1))


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _cleanup(folder: Path, pairs: list) -> None:
    """Remove temp files and unpaired halves left by an interrupted run: the temporaries (``.NAME.tmpPID.RANDOM``) of
    this process and of processes that no longer exist, not those another shard writing into the folder holds."""
    import re

    from ..utils import _pid_alive

    for f in folder.glob(".*.npy.tmp*"):
        m = re.search(r"\.tmp(\d+)(?:\.[0-9a-f]+)?$", f.name)
        if m is None or int(m[1]) == os.getpid() or not _pid_alive(int(m[1])):
            f.unlink(missing_ok=True)
    for a, b in pairs:
        if a.exists() != b.exists():
            (a if a.exists() else b).unlink(missing_ok=True)
