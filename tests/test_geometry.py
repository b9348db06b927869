import numpy as np

from cardiacml.datasets.geometry import load_geometry, read_sites


def test_shipped_geometry_matches_shared_copy(shared):
    g = load_geometry()
    assert g.points.shape == (8033, 3) and g.tetra.shape == (26854, 4)
    assert g.tetra.min() == 0 and g.tetra.max() == 8032
    assert len(g.site_names) == 75 and g.site_names[0] == "AHA01" and g.site_names[-1] == "SEPTM_AHA14_RV13"
    xyz, names = read_sites(shared / "geometry" / "points.csv")
    np.testing.assert_array_equal(xyz, g.site_xyz)
    assert names == g.site_names
    g2 = load_geometry(shared / "geometry" / "heart_mesh.vtk", shared / "geometry" / "points.csv")
    np.testing.assert_array_equal(g2.points, g.points)


def test_regions_and_surface():
    g = load_geometry()
    regions, counts = np.unique(g.site_regions, return_counts=True)
    assert dict(zip(regions, counts)) == {"AHA": 17, "EPI": 20, "MID": 20, "RV": 13, "SEPTM": 5}
    faces = g.boundary_faces()
    # a closed surface: every boundary edge is shared by exactly two boundary triangles
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [0, 2]]]), axis=1)
    _, c = np.unique(edges, axis=0, return_counts=True)
    assert np.all(c == 2)
    # sites lie on or in the mesh: each within about one edge length of a node
    t = g.tetra
    edge = np.linalg.norm(g.points[t[:, 0]] - g.points[t[:, 1]], axis=1).mean()
    d = np.linalg.norm(g.points[g.site_nodes()] - g.site_xyz, axis=1)
    assert d.max() < 1.5 * edge, (d.max(), edge)
