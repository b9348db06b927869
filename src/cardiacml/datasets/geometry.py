"""The biventricular heart mesh and its 75 recording sites (LLNL challenge geometry, MIT licensed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

REGIONS = ("AHA", "RV", "EPI", "MID", "SEPTM")


@dataclass(frozen=True)
class HeartGeometry:
    """Heart mesh and recording sites.

    Attributes
    ----------
    points : ndarray, shape (8033, 3), float64, mm
        Mesh node coordinates.
    tetra : ndarray, shape (26854, 4), int64
        Tetrahedra (indices into ``points``).
    site_xyz : ndarray, shape (75, 3), float64, mm
        Coordinates of the 75 recording sites; row i is column i of ``VmData``.
    site_names : tuple of str, length 75
        Site names, e.g. ``"AHA01"``, ``"EPI_RV12"``, ``"SEPTM_AHA02_RV05"``.
    source : str
        The mesh and sites files read (for display; not compared).
    """

    points: np.ndarray
    tetra: np.ndarray
    site_xyz: np.ndarray
    site_names: tuple
    source: str = field(default="", compare=False)

    def __repr__(self) -> str:
        """One line (a notebook shows the value of a cell's last line), not the mesh's arrays."""
        regions = dict(zip(*np.unique(self.site_regions, return_counts=True))) if len(self.site_names) else {}
        per = ", ".join(f"{r} {regions[r]}" for r in REGIONS if r in regions)
        return (f"HeartGeometry({len(self.points)} points, {len(self.tetra)} tetrahedra, {len(self.site_names)} sites"
                + (f" ({per})" if per else "") + (f", source={self.source!r}" if self.source else "") + ")")

    @property
    def site_regions(self) -> np.ndarray:
        """Region of each site (one of :data:`REGIONS`), shape (75,)."""
        return np.array([site_region(n) for n in self.site_names])

    def site_nodes(self) -> np.ndarray:
        """Index of the mesh node nearest to each site, shape (75,)."""
        from scipy.spatial import cKDTree

        return cKDTree(self.points).query(self.site_xyz)[1]

    def boundary_faces(self) -> np.ndarray:
        """Triangles on the mesh surface (faces that belong to exactly one tetrahedron), shape (F, 3)."""
        t = self.tetra
        faces = np.concatenate([t[:, [0, 1, 2]], t[:, [0, 1, 3]], t[:, [0, 2, 3]], t[:, [1, 2, 3]]])
        key = np.sort(faces, axis=1)
        _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
        return faces[idx[counts == 1]]


def site_region(name: str) -> str:
    """Region of a site name: 'AHA' (LV endocardium), 'RV', 'EPI', 'MID' or 'SEPTM'."""
    for region in ("EPI", "MID", "SEPTM"):
        if name.startswith(region):
            return region
    return "RV" if name.startswith("RV") else "AHA"


def _geometry_dir() -> Path:
    return Path(str(resources.files("cardiacml") / "datasets" / "geometry"))


def read_sites(path: str | Path | None = None) -> tuple[np.ndarray, tuple]:
    """Read a ``points.csv`` (columns Points:0..2, Name). Returns (xyz (75, 3), names)."""
    import pandas as pd

    path = Path(path) if path else _geometry_dir() / "points.csv"
    df = pd.read_csv(path)
    names = tuple(str(n).strip("'\"") for n in df["Name"])
    return df[["Points:0", "Points:1", "Points:2"]].to_numpy(np.float64), names


@lru_cache(maxsize=2)
def _load(mesh_path: str | None, sites_path: str | None, _stamp=None) -> HeartGeometry:
    import meshio

    mesh = meshio.read(mesh_path or _geometry_dir() / "heart_mesh.vtk")
    tetra = np.concatenate([c.data for c in mesh.cells if c.type == "tetra"]).astype(np.int64)
    xyz, names = read_sites(sites_path)
    source = f"{mesh_path or 'packaged heart_mesh.vtk'}, {sites_path or 'packaged points.csv'}"
    return HeartGeometry(np.asarray(mesh.points, np.float64), tetra, xyz, names, source)


def load_geometry(mesh_path: str | Path | None = None, sites_path: str | Path | None = None) -> HeartGeometry:
    """Load the heart mesh and the 75 recording sites.

    By default the copy shipped with the package is used; pass paths to read
    another ``heart_mesh.vtk`` / ``points.csv``. The result is cached per file (its absolute path, size and
    modification time).
    """
    paths = [str(Path(p).resolve()) if p else None for p in (mesh_path, sites_path)]
    # keyed on the files, not the words: "points.csv" in another folder, or a file edited since, is read again
    stamp = tuple((s.st_size, s.st_mtime_ns) if (s := _stat(p)) else None for p in paths)
    return _load(*paths, stamp)


def _stat(path: str | None):
    try:
        return Path(path).stat() if path else None
    except OSError:  # a missing file: meshio / pandas name it
        return None
