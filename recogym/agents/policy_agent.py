"""An agent that asks a trained policy model (e.g. Stable-Baselines3's) for
each recommendation, given the user's cumulative view counts."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..logs import Logs
from ..session import Session
from .base import Agent, UserBatch

__all__ = ["PolicyAgent"]


class PolicyAgent(Agent):
    """Acts with ``model.predict(view_counts, deterministic=True)``.

    The observation it hands the model is the one
    :class:`~recogym.envs.gym_env.CumulativeViewCounts` gives during training: the
    user's view counts since they arrived, float32 of shape ``(P,)``. Any
    object with Stable-Baselines3's ``predict(observation, deterministic)``
    returning ``(action, state)`` works; this module imports neither
    Stable-Baselines3 nor torch.

    It learns nothing from logs: train the model first. ``act_batch`` asks
    for a whole batch of users in one call, with the same choices as ``act``
    (so ``test_agent`` may use its batch path).

    Parameters
    ----------
    model
        The trained policy.
    num_products : int, optional
        Defaults to the size of ``model.observation_space``.
    deterministic : bool
        Passed to ``predict``.

    Examples
    --------
    >>> agent = PolicyAgent(PPO.load('ppo_recogym'))  # doctest: +SKIP
    >>> recogym.test_agent(env, agent, 1000, 1000)  # doctest: +SKIP
    """

    def __init__(self, model: Any, num_products: int | None = None, deterministic: bool = True) -> None:
        if num_products is None:
            num_products = int(np.prod(model.observation_space.shape))
        super().__init__({"num_products": num_products})
        self.model = model
        self.deterministic = deterministic
        self.reset()

    def reset(self) -> None:
        self._view_counts = np.zeros(self.num_products, dtype=np.float32)

    def act(self, observation: Session | None, reward: int | None, done: bool) -> int:
        if observation:
            np.add.at(self._view_counts, observation.get_views(), 1.0)
        action, _ = self.model.predict(self._view_counts.copy(), deterministic=self.deterministic)
        return int(np.asarray(action).reshape(-1)[0])

    def act_batch(self, batch: UserBatch) -> np.ndarray:
        """The model's products for every user of ``batch``."""
        actions, _ = self.model.predict(batch.view_counts.astype(np.float32), deterministic=self.deterministic)
        return np.asarray(actions, dtype=np.int64).reshape(len(batch.user_ids))

    def train_logs(self, logs: Logs) -> None:
        """Learns nothing from logs (the model was trained beforehand)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "PolicyAgent":
        # test_agent copies its agent; the model is only read, so share it.
        return PolicyAgent(self.model, self.num_products, self.deterministic)
