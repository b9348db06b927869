"""Regenerate the simulator's precomputed tables (package data ``tables_v3.npz``).

    python -m cardiacml.simulate.build_tables [--out PATH] [--workers 2]

Needs the ``simulate-build`` extra (fim-python, bempp-cl); takes about 15-30 minutes on
2 cores, almost all of it in the fast iterative method. The simulator itself only needs
numpy/scipy and the stored tables:

* ``travel`` (K, n_nodes) uint16, 0.01 ms: eikonal activation time from each of K candidate
  root nodes on the LV / RV endocardium, solved once with the fast iterative method on
  the tetrahedra (fim-python) for rule-based fibres (helix +60 to -60 degrees), 0.6 / 0.25
  m/s along / across fibres and a 2 m/s endocardial (Purkinje-like) layer.
* ``lead`` (V, 3, 10, n_nodes) float16: body-surface lead fields of V "volunteers"
  (torso shape / size and heart pose), for the nominal Mason-Likar / precordial electrode
  positions and two tangential 15 mm displacements (electrode jitter), computed with a
  boundary-element model of a homogeneous insulated torso (bempp-cl).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

TABLES = Path(__file__).with_name("tables_v3.npz")
N_LV_ROOTS, N_RV_ROOTS = 40, 24
TRAVEL_UNIT = 0.01  # ms per uint16 step


def root_candidates(g, hc) -> tuple[np.ndarray, np.ndarray]:
    """Candidate root nodes (K,) and whether each is in the RV (K,) bool."""
    from .anatomy import farthest_points

    out, is_rv = [], []
    for mask, k, rv in ((hc.endo_lv, N_LV_ROOTS, False), (hc.endo_rv, N_RV_ROOTS, True)):
        nodes = np.flatnonzero(mask & (hc.apicobasal < 0.8) & (hc.apicobasal > 0.1))
        start = int(np.argmin(hc.apicobasal[nodes]))
        out.append(farthest_points(g.points, nodes, k, start))
        is_rv += [rv] * k
    return np.concatenate(out), np.array(is_rv)


_SOLVER = None


def _fim_one(args):
    global _SOLVER
    pts, tet, D, root = args
    if _SOLVER is None:  # one solver per process: its set-up takes seconds
        from fimpy.solver import create_fim_solver

        _SOLVER = create_fim_solver(pts, tet, D, precision=np.float32, device="cpu", use_active_list=True)
    return _SOLVER.comp_fim(np.array([root]), np.array([0.0], np.float32))


def build_travel(workers: int = 1, work_dir: Path | None = None):
    """Eikonal travel times from every candidate root: (travel uint16 (K, n), roots, is_rv)."""
    from ..datasets.geometry import load_geometry
    from .anatomy import conduction_tensors, fibre_directions, heart_coordinates

    g = load_geometry()
    hc = heart_coordinates(g)
    D, _ = conduction_tensors(g, hc, fibre_directions(g, hc))
    roots, is_rv = root_candidates(g, hc)
    pts, tet = g.points.astype(np.float32), g.tetra.astype(np.int64)
    travel = np.zeros((len(roots), len(pts)), np.uint16)
    todo = []
    for k, r in enumerate(roots):
        part = work_dir / f"travel_{k:03d}_{r}.npy" if work_dir else None
        if part is not None and part.is_file():
            travel[k] = np.load(part)
        else:
            todo.append(k)
    # interleave LV and RV roots (farthest-point order) so that a partial run is still balanced
    rank = np.concatenate([np.arange(N_LV_ROOTS), np.arange(N_RV_ROOTS)]) / np.where(is_rv, N_RV_ROOTS, N_LV_ROOTS)
    todo = sorted(todo, key=lambda k: (rank[k], k))
    t0 = time.time()
    args = [(pts, tet, D.astype(np.float32), int(roots[k])) for k in todo]
    if workers > 1:
        from multiprocessing import get_context

        pool = get_context("fork").Pool(workers)
        results = pool.imap(_fim_one, args)
    else:
        results = map(_fim_one, args)
    for k, phi in zip(todo, results):
        q = np.clip(np.round(np.asarray(phi, np.float64) / TRAVEL_UNIT), 0, 65535).astype(np.uint16)
        travel[k] = q
        if work_dir:
            np.save(work_dir / f"travel_{k:03d}_{roots[k]}.npy", q)
        print(f"  root {k + 1}/{len(roots)} node {roots[k]}: max {q.max() * TRAVEL_UNIT:.1f} ms ({time.time() - t0:.0f} s)", flush=True)
    if workers > 1:
        pool.close()
    return travel, roots, is_rv


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=TABLES)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--work-dir", type=Path, default=None, help="keep per-root FIM results here (resumable)")
    ap.add_argument("--only", choices=["travel", "lead", "all"], default="all")
    a = ap.parse_args(argv)
    if a.work_dir:
        a.work_dir.mkdir(parents=True, exist_ok=True)
    old = dict(np.load(a.out, allow_pickle=False)) if a.out.is_file() else {}
    if a.only in ("travel", "all"):
        travel, roots, is_rv = build_travel(a.workers, a.work_dir)
        old.update(travel=travel, roots=roots, root_is_rv=is_rv)
    if a.only in ("lead", "all"):
        from .torso import build_lead_fields

        lf = build_lead_fields()
        scale = np.abs(lf["lead"]).max(-1).astype(np.float32)
        old.update(lead=(lf["lead"] / scale[..., None]).astype(np.float16), lead_scale=scale, electrodes=lf["electrodes"])
    from ..utils import atomic_path

    with atomic_path(a.out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **old)
    print(f"wrote {a.out} ({a.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
