"""Heart-mesh coordinates for the simulator: endocardia, transmural / apico-basal / LV-RV
coordinates, rule-based fibres and anisotropic conduction tensors.

The biventricular mesh (8,033 nodes, 26,854 tetrahedra, mm) has its base in the plane
z = max and its apex near z = 0; the LV and RV endocardia are the boundary components
other than the epicardium. These are simple rule-based coordinates in the spirit of the
universal ventricular coordinates of Bayer et al. (2018) -- distances to the surfaces
instead of Laplace solutions, because they are only used to place smooth gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.geometry import HeartGeometry


@dataclass
class HeartCoordinates:
    """Per-node coordinates of the heart mesh.

    Attributes
    ----------
    endo_lv, endo_rv : ndarray of bool, shape (n_nodes,)
        Nodes on the LV / RV endocardial surfaces.
    epi : ndarray of bool, shape (n_nodes,), epicardial surface nodes
    transmural : ndarray, shape (n_nodes,), 1 on the endocardium, 0 on the epicardium
    apicobasal : ndarray, shape (n_nodes,), 0 at the apex, 1 at the base
    rv : ndarray, shape (n_nodes,), 1 in the RV free wall, 0 in the LV and septum (smooth)
    lateral : ndarray, shape (n_nodes,), distance to the RV cavity / its maximum: 0 at the
        septum and RV, 1 at the LV lateral (free) wall
    grad_op : ndarray, shape (n_tets, 3, 4), P1 gradient operator of each tetrahedron (1/mm)
    volume : ndarray, shape (n_tets,), mm^3
    """

    endo_lv: np.ndarray
    endo_rv: np.ndarray
    epi: np.ndarray
    transmural: np.ndarray
    apicobasal: np.ndarray
    rv: np.ndarray
    lateral: np.ndarray
    grad_op: np.ndarray
    volume: np.ndarray

    @property
    def endo(self) -> np.ndarray:
        return self.endo_lv | self.endo_rv


def grad_operator(pts: np.ndarray, tet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P1 gradient operators (T, 3, 4) and volumes (T,) of the tetrahedra."""
    x = pts[tet]
    D = x[:, 1:] - x[:, :1]
    vol = np.abs(np.linalg.det(D)) / 6.0
    S = np.array([[-1.0, 1, 0, 0], [-1.0, 0, 1, 0], [-1.0, 0, 0, 1]])
    B = np.linalg.solve(D, np.broadcast_to(S, (len(tet), 3, 4)))
    return B, vol


def surface_components(g: HeartGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epi, endo_lv, endo_rv) boolean node masks from the boundary faces (base plane excluded)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = g.boundary_faces()
    z = g.points[:, 2]
    faces = faces[~np.all(np.abs(z[faces] - z.max()) < 1e-3, axis=1)]
    n = len(g.points)
    rows = np.repeat(np.arange(len(faces)), 3)
    adj = coo_matrix((np.ones(rows.size), (faces.ravel(), rows)), shape=(n, len(faces))).tocsr()
    _, labels = connected_components(adj @ adj.T, directed=False)
    on = np.zeros(n, bool)
    on[faces.ravel()] = True
    comps = np.argsort(np.bincount(labels[on], minlength=labels.max() + 1))[::-1]
    epi = on & (labels == comps[0])
    c1, c2 = on & (labels == comps[1]), on & (labels == comps[2])
    regions = g.site_regions
    lv_centre = g.site_xyz[regions == "AHA"].mean(0)
    d1 = np.linalg.norm(g.points[c1].mean(0) - lv_centre)
    d2 = np.linalg.norm(g.points[c2].mean(0) - lv_centre)
    lv, rv = (c1, c2) if d1 < d2 else (c2, c1)
    return epi, lv, rv


def heart_coordinates(g: HeartGeometry) -> HeartCoordinates:
    """Compute :class:`HeartCoordinates` for a heart mesh (about 0.1 s)."""
    from scipy.spatial import cKDTree

    pts = g.points
    epi, lv, rv = surface_components(g)
    d_endo = cKDTree(pts[lv | rv]).query(pts)[0]
    d_epi = cKDTree(pts[epi]).query(pts)[0]
    transmural = d_epi / np.maximum(d_endo + d_epi, 1e-9)
    z = pts[:, 2]
    apicobasal = (z - z.min()) / (z.max() - z.min())
    d_lv = cKDTree(pts[lv]).query(pts)[0]
    d_rv = cKDTree(pts[rv]).query(pts)[0]
    # RV free wall: nearer to the RV cavity than to the LV cavity by more than half a wall
    rvness = 1.0 / (1.0 + np.exp(-(d_lv - d_rv - 6.0) / 2.0))
    B, vol = grad_operator(pts, g.tetra)
    lateral = d_rv / d_rv.max()
    return HeartCoordinates(lv, rv, epi, transmural, apicobasal, rvness, lateral, B, vol)


def fibre_directions(g: HeartGeometry, hc: HeartCoordinates, endo_deg: float = 60.0, epi_deg: float = -60.0) -> np.ndarray:
    """Rule-based fibre direction per tetrahedron, shape (n_tets, 3), unit vectors.

    The helix angle varies linearly with the transmural coordinate from ``endo_deg``
    (endocardium) to ``epi_deg`` (epicardium), measured from the circumferential
    direction towards the long (apico-basal, +z) axis, in the plane orthogonal to the
    transmural direction (the gradient of the transmural coordinate): the rule of
    Streeter (1969) as used by Bayer et al. (2012) and Gillette et al. (2021).
    """
    tet = g.tetra
    e_t = np.einsum("tcn,tn->tc", hc.grad_op, hc.transmural[tet])
    nrm = np.linalg.norm(e_t, axis=1, keepdims=True)
    # where the gradient vanishes (mid-septum), fall back to the radial direction from the long axis
    radial = g.points[tet].mean(1) - g.points.mean(0)
    radial[:, 2] = 0.0
    radial /= np.maximum(np.linalg.norm(radial, axis=1, keepdims=True), 1e-9)
    e_t = np.where(nrm > 1e-6, e_t / np.maximum(nrm, 1e-12), radial)
    e_l = np.array([0.0, 0.0, 1.0])[None, :] - e_t[:, 2:3] * e_t
    e_l /= np.maximum(np.linalg.norm(e_l, axis=1, keepdims=True), 1e-9)
    e_c = np.cross(e_l, e_t)
    tm = hc.transmural[tet].mean(1)
    alpha = np.deg2rad(epi_deg + (endo_deg - epi_deg) * tm)
    f = np.cos(alpha)[:, None] * e_c + np.sin(alpha)[:, None] * e_l
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def conduction_tensors(g: HeartGeometry, hc: HeartCoordinates, fibres: np.ndarray, *, v_fibre: float = 0.6,
                       v_cross: float = 0.25, v_purkinje: float = 2.0, purkinje_max_ab: float = 0.85) -> tuple[np.ndarray, np.ndarray]:
    """Metric tensors D (n_tets, 3, 3) for the eikonal <grad T, D grad T> = 1 (mm/ms = m/s).

    Myocardium: D = v_c^2 I + (v_f^2 - v_c^2) f f^T (anisotropic, along the fibres).
    Tetrahedra with a face on an endocardium below ``purkinje_max_ab`` of the height form a
    fast isotropic layer (``v_purkinje``) standing in for the His-Purkinje network, as in
    the reaction-eikonal models of Gillette et al. (2021) and Camps et al. (2021).
    Returns (D, purkinje_mask).
    """
    tet = g.tetra
    endo = hc.endo
    layer = (endo[tet].sum(1) >= 3) & (hc.apicobasal[tet].mean(1) < purkinje_max_ab)
    D = v_cross ** 2 * np.eye(3)[None] + (v_fibre ** 2 - v_cross ** 2) * fibres[:, :, None] * fibres[:, None, :]
    D[layer] = v_purkinje ** 2 * np.eye(3)
    return D, layer


def farthest_points(pts: np.ndarray, candidates: np.ndarray, k: int, start: int) -> np.ndarray:
    """Greedy farthest-point subset of ``candidates`` (node indices) of size k, deterministic."""
    chosen = [int(candidates[start])]
    d = np.linalg.norm(pts[candidates] - pts[chosen[0]], axis=1)
    for _ in range(k - 1):
        i = int(np.argmax(d))
        chosen.append(int(candidates[i]))
        d = np.minimum(d, np.linalg.norm(pts[candidates] - pts[candidates[i]], axis=1))
    return np.array(chosen)
