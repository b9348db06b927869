"""Compatibility module: the task data API moved to :mod:`cardiacml.tasks` (registry) and
:mod:`cardiacml.data.sources` (where the embedded defaults come from)."""

from ..data.sources import default_intracardiac_dir, find_mitdb, rebuilt_beats  # noqa: F401
from ..tasks import TaskData, get_task, list_tasks, load_task  # noqa: F401

TASKS = ("task1", "task2", "task3", "task4")
