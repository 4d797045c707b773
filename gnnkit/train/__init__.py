"""Training: one engine (``Engine``) for every task, the configs it takes, and
the ``Task`` base class; the tasks themselves are in ``gnnkit.train.tasks``.

    from gnnkit.train import Engine, OptimConfig, RunConfig, StopConfig
    from gnnkit.train.tasks.node import NodeTask
"""
from gnnkit.train.config import MiniBatchConfig, OptimConfig, RunConfig, StopConfig
from gnnkit.train.engine import Engine, FitResult
from gnnkit.train.task import Task

__all__ = ["Engine", "FitResult", "MiniBatchConfig", "OptimConfig", "RunConfig", "StopConfig", "Task"]
