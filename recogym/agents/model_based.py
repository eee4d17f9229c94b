"""Agents whose model is fitted on every log they were given.

recogym's own model agents (``LogregPolyAgent``, ``LogregMulticlassIpsAgent``,
``BanditMFSquare``, ``OrganicMFSquare``, ``NnIpsAgent``) are built on
:class:`LogFittedAgent`. It was called ``ModelBasedAgent`` before
recogym took 0.1.3.0's own ``ModelBasedAgent(config, model_builder)``
back (:mod:`recogym.agents.abstract`), which third-party agents subclass.
"""
from __future__ import annotations

import numpy as np

from ..logs import LOG_COLUMNS, Logs
from .base import BatchAgent

__all__ = ["LogFittedAgent"]


class LogFittedAgent(BatchAgent):
    """A :class:`BatchAgent` that fits a model on all the logs it was given.

    Each :meth:`train_logs` call refits the model on all the logs seen so far:
    ``train_logs(a)`` then ``train_logs(b)`` leaves the agent as one call on
    both logs would, so training step by step equals training from logs
    however the steps fall between acts. The agent keeps those logs,
    without the simulator's true click probabilities, which no agent may
    learn from. Subclasses implement :meth:`fit` and :meth:`policy`.

    Attributes
    ----------
    training_logs : Logs or None
        All the logs trained on.
    """

    training_logs: Logs | None = None

    def fit(self, logs: Logs) -> None:
        """Fit the model on ``logs`` alone, replacing any earlier fit."""
        raise NotImplementedError

    def train_logs(self, logs: Logs) -> None:
        columns = {name: getattr(logs, name) for name in LOG_COLUMNS}
        if self.training_logs is not None:
            columns = {name: np.concatenate([getattr(self.training_logs, name), column])
                       for name, column in columns.items()}
        self.training_logs = Logs(**columns, click_probability=np.full(len(columns["t"]), np.nan))
        self.fit(self.training_logs)
