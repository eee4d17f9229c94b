"""Many users stepped in lockstep by the engine: vectorised online evaluation."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .agents.base import UserBatch
from .env import RecoEnv
from .model import build_engine
from .params import check_count

__all__ = ["BatchEnv", "evaluate_batch"]


class BatchEnv:
    """``num_envs`` user slots of one env's model, each holding a user who
    waits for a recommendation.

    Users ``first_user, first_user + 1, ...`` fill the slots in turn; when a
    user leaves, the next one takes the slot, until ``num_users`` users have
    been served. In the default random-number mode every user behaves exactly
    as in the classic env, whatever the batch size.

    Parameters
    ----------
    env : RecoEnv
        An initialised env whose model, arguments and seed the batch uses.
    num_envs : int
        The number of slots B.
    """

    def __init__(self, env: RecoEnv, num_envs: int = 1024) -> None:
        config = env._require_init()
        num_envs = check_count("num_envs", num_envs)
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = num_envs
        self.num_products = env.num_products
        self._engine = build_engine(env.model, config, env._static, num_slots=num_envs, epoch=env._epoch,
                                    time_generator=env._time_generator)
        self._state = self._engine.state
        self.view_counts = np.zeros((num_envs, env.num_products))
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self._next_user = self._end_user = 0

    def start(self, num_users: int, first_user: int = 0) -> None:
        """Fill the slots with the first of ``num_users`` users."""
        num_users = check_count("num_users", num_users)
        first_user = check_count("first_user", first_user)
        self._state["markov_state"][:] = _core.EMPTY_SLOT
        self._end_user = first_user + num_users
        self._next_user = self._engine.begin_users(np.arange(self.num_envs, dtype=np.int64), first_user,
                                                   self._end_user, self.view_counts, self.steps)

    def active_slots(self) -> np.ndarray:
        """The slots whose user waits for a recommendation."""
        return np.flatnonzero(self._state["markov_state"] == _core.BANDIT_STATE)

    def observe(self, slots: np.ndarray) -> UserBatch:
        """What the users in ``slots`` have shown so far."""
        every = len(slots) == self.num_envs
        return UserBatch(
            self.view_counts if every else self.view_counts[slots],
            self._state["last_view"][slots],
            self._state["user_id"][slots],
            self.steps[slots],
        )

    def recommend(self, slots: np.ndarray, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """Show ``actions`` to the users in ``slots``; users who leave are
        replaced. Returns the clicks and the true click probabilities."""
        actions = np.asarray(actions)
        if actions.shape != slots.shape or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be an integer array of shape {slots.shape}, got "
                             f"{actions.dtype} of shape {actions.shape}")
        if actions.size and (actions.min() < 0 or actions.max() >= self.num_products):
            raise ValueError(f"actions must be in [0, {self.num_products}) (num_products)")
        clicks = np.empty(len(slots), dtype=np.int8)
        click_probability = np.empty(len(slots))
        self._engine.recommend_batch(slots, actions.astype(np.int64, copy=False), clicks, click_probability,
                                     self.view_counts, self.steps)
        finished = slots[self._state["markov_state"][slots] == _core.STOP_STATE]
        if finished.size:
            self._next_user = self._engine.begin_users(finished, self._next_user, self._end_user,
                                                       self.view_counts, self.steps)
        return clicks, click_probability


def evaluate_batch(env: RecoEnv, agent: Any, num_users: int, first_user: int = 0,
                   num_envs: int = 1024) -> tuple[int, int]:
    """Clicks and impressions of ``agent.act_batch`` on ``num_users`` users.

    The batch counterpart of the per-user online loop of ``test_agent``: with
    an agent whose choices depend only on each user's own history (as
    :class:`~recogym.agents.BatchAgent`'s do), it gives the same clicks.
    """
    batch_env = BatchEnv(env, min(num_envs, max(num_users, 1)))
    batch_env.start(num_users, first_user)
    clicks = impressions = 0
    slots = batch_env.active_slots()
    while slots.size:
        chosen = agent.act_batch(batch_env.observe(slots))
        actions = chosen[0] if isinstance(chosen, tuple) else chosen
        outcome, _ = batch_env.recommend(slots, actions)
        clicks += int(outcome.sum())
        impressions += len(slots)
        slots = batch_env.active_slots()
    return clicks, impressions
