"""Training, evaluation and checkpoints (imports PyTorch).

* :mod:`.run` - :func:`train_run`, :func:`evaluate_run`: one run, written whole (the CLI, demo and notebooks call these);
* :mod:`.loop` - :func:`fit`, a plain training loop with early stopping; :func:`predict_array`;
* :mod:`.checkpoint` - :class:`RunRecord`, :class:`TrainConfig`, run folders, safe loading, pretrained names;
* :mod:`.losses` - losses by name and class weights; :mod:`.distributed` - DDP through torchrun, mixed precision.
"""
