"""Figures: ECG beats and 12-lead grids, training curves, confusion matrices, heart maps, HTML reports."""
