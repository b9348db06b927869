"""Tasks: what can be trained and evaluated, each described by one :class:`TaskSpec`.

* :mod:`.registry` - :class:`TaskSpec`, :class:`TaskData`, :func:`register_task`, :func:`get_task`, :func:`load_task`,
  :func:`check_saved_model`;
* :mod:`.kaggle` - ``task1`` (PTB normal/abnormal) and ``task2`` (N/S/V/F/Q), the challenge's single beats;
* :mod:`.beats` - ``beats``: every beat of a raw recording, rhythm-aware, and its MIT-BIH recipe;
* :mod:`.heart` - ``task3`` (activation map) and ``task4`` (Vm) from the 12-lead ECG;
* :mod:`.sources` - where the embedded default data comes from (MIT-BIH on disk, the simulator);
* :mod:`.metrics` - metrics of every task (pure NumPy / scikit-learn).

Importing this package registers every task (the task modules are imported eagerly).
"""

from .registry import TaskData, TaskSpec, check_saved_model, get_task, list_tasks, load_task, register_task
from . import beats, heart, kaggle  # noqa: E402,F401  (register the tasks)

__all__ = ["TaskData", "TaskSpec", "check_saved_model", "get_task", "list_tasks", "load_task", "register_task"]
