"""cardiacml: machine learning for cardiac electrophysiology.

Heavy dependencies (torch, vtk) are imported lazily inside the functions that
need them, so ``import cardiacml`` and ``cardiacml --help`` stay fast.
"""

__version__ = "0.4.18"

__all__ = ["__version__"]
