"""Built-in simulator of the intracardiac dataset (the embedded default when the real data is absent)."""

from .simulator import SimulatorConfig, HeartModel, simulate_dataset, simulate_one

__all__ = ["SimulatorConfig", "HeartModel", "simulate_dataset", "simulate_one"]
