"""Training, evaluation and checkpoints (imports torch)."""
