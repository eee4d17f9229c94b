"""Many users stepped in lockstep by the engine: vectorised online evaluation."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_actions, check_count, check_positive_int, check_slates, check_slots
from .._checks import check_user_range
from .. import _core
from ..session import UserBatch
from ..params import slate_size_of
from ..sim.slots import SlateOutcomes, Slots
from .classic import RecoEnv

__all__ = ["BatchEnv", "evaluate_batch", "evaluate_batch_outcomes", "evaluate_batch_slates"]


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
        if not isinstance(env, RecoEnv):
            raise TypeError(f"env must be an initialised RecoEnv, got {type(env).__name__}")
        num_envs = check_positive_int("num_envs", num_envs)
        self.num_envs = num_envs
        self.num_products = env.num_products
        #: Products per impression (env arg ``slate_size``).
        self.slate_size = slate_size_of(env.simulation.config)
        self.last_slate_outcomes: SlateOutcomes | None = None
        self._slots = Slots(env.simulation, num_envs, count_views=True, count_steps=True)
        self.view_counts = self._slots.view_counts
        self.steps = self._slots.steps
        self._next_user = self._end_user = 0
        # The read-only array active_slots() last returned, valid until users move.
        self._waiting: np.ndarray | None = None
        #: Whether the model draws conversions (env arg ``with_conversions``).
        self.conversions = self._slots.conversions
        self._last_conversions = (np.zeros(0, dtype=np.int8), np.zeros(0))

    def start(self, num_users: int, first_user: int = 0) -> None:
        """Fill the slots with the first of ``num_users`` users."""
        num_users = check_count("num_users", num_users)
        first_user = check_count("first_user", first_user)
        check_user_range(first_user, num_users, "first_user + num_users")
        self._slots.markov_state[:] = _core.EMPTY_SLOT
        self._end_user = first_user + num_users
        self._waiting = None
        self._next_user = self._slots.start(self._slots.all_slots, first_user, self._end_user)

    def active_slots(self) -> np.ndarray:
        """The slots whose user waits for a recommendation (a read-only array)."""
        waiting = self._slots.waiting()
        waiting.flags.writeable = False
        self._waiting = waiting
        return waiting

    def _check_slots(self, slots: Any) -> np.ndarray:
        if self._waiting is not None and slots is self._waiting:
            # active_slots()'s own answer, unchanged (read-only) and still true.
            return self._waiting
        return check_slots("slots", slots, self.num_envs, self._slots.markov_state, _core.BANDIT_STATE,
                           "waits for a recommendation (see active_slots())")

    def observe(self, slots: Any) -> UserBatch:
        """What the users in ``slots`` have shown so far."""
        slots = self._check_slots(slots)
        every = len(slots) == self.num_envs
        return UserBatch(
            self.view_counts if every else self.view_counts[slots],
            self._slots.last_view[slots],
            self._slots.user_ids[slots],
            self.steps[slots],
        )

    def recommend(self, slots: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """Show ``actions`` to the users in ``slots``; users who leave are
        replaced. Returns the clicks and the true click probabilities.

        With env arg ``slate_size`` k > 1, ``actions`` is ``(len(slots), k)``:
        one ranking of k distinct products per user, and the clicks and
        click probabilities returned are per position, ``(len(slots), k)``;
        :attr:`last_slate_outcomes` holds the whole outcome of the step
        (:class:`~recogym.sim.slots.SlateOutcomes`).
        """
        slots = self._check_slots(slots)
        if self.slate_size > 1:
            slates = check_slates("actions", actions, len(slots), self.slate_size, self.num_products)
            self._waiting = None
            outcome = self._slots.recommend_slates(slots, slates)
            self.last_slate_outcomes = outcome
            clicks, click_probability = outcome.clicks, outcome.position_click_probability
        else:
            actions = check_actions("actions", actions, len(slots), self.num_products)
            self._waiting = None
            clicks, click_probability = self._slots.recommend(slots, actions)
            if self.conversions:
                self._last_conversions = self._slots.last_conversions(len(slots))
        finished = self._slots.finished(slots)
        if finished.size:
            self._next_user = self._slots.start(finished, self._next_user, self._end_user)
        return clicks, click_probability

    def last_conversions(self) -> tuple[np.ndarray, np.ndarray]:
        """With conversions (env arg ``with_conversions``), the conversions
        (int8: 1 if the click converted, 0 otherwise, 0 without a click) and
        the true probabilities that a click converts of the last
        :meth:`recommend`, in the order of its slots.

        Raises
        ------
        ValueError
            If the env has no conversions.
        """
        if not self.conversions:
            raise ValueError("this env has no conversions: set env arg 'with_conversions' to True")
        conversions, probabilities = self._last_conversions
        return conversions.copy(), probabilities.copy()


def evaluate_batch(env: RecoEnv, agent: Any, num_users: int, first_user: int = 0,
                   num_envs: int = 1024) -> tuple[int, int]:
    """Clicks and impressions of ``agent.act_batch`` on ``num_users`` users.

    The batch counterpart of the per-user online loop of ``test_agent``: with
    an agent whose choices depend only on each user's own history (as
    :class:`~recogym.agents.BatchAgent`'s do), it gives the same clicks.
    """
    clicks, impressions, _ = evaluate_batch_outcomes(env, agent, num_users, first_user, num_envs)
    return clicks, impressions


def evaluate_batch_outcomes(env: RecoEnv, agent: Any, num_users: int, first_user: int = 0,
                            num_envs: int = 1024) -> tuple[int, int, int]:
    """:func:`evaluate_batch`'s clicks and impressions, and the conversions
    (0 unless the env has conversions)."""
    batch_env = BatchEnv(env, min(num_envs, max(num_users, 1)))
    batch_env.start(num_users, first_user)
    clicks = impressions = conversions = 0
    slots = batch_env.active_slots()
    while slots.size:
        chosen = agent.act_batch(batch_env.observe(slots))
        actions = chosen[0] if isinstance(chosen, tuple) else chosen
        outcome, _ = batch_env.recommend(slots, actions)
        clicks += int(outcome.sum())
        impressions += len(slots)
        if batch_env.conversions:
            conversions += int(batch_env.last_conversions()[0].sum())
        slots = batch_env.active_slots()
    return clicks, impressions, conversions


def evaluate_batch_slates(env: RecoEnv, agent: Any, num_users: int, first_user: int = 0,
                          num_envs: int = 1024) -> tuple[list[int], int, int]:
    """:func:`evaluate_batch` for slates (env arg ``slate_size`` k > 1), whose
    ``agent.act_batch`` returns ``(B, k)`` rankings: the clicks at each
    position, the impressions with at least one click, and the impressions."""
    batch_env = BatchEnv(env, min(num_envs, max(num_users, 1)))
    batch_env.start(num_users, first_user)
    per_position = np.zeros(batch_env.slate_size, dtype=np.int64)
    clicked = impressions = 0
    slots = batch_env.active_slots()
    while slots.size:
        chosen = agent.act_batch(batch_env.observe(slots))
        slates = chosen[0] if isinstance(chosen, tuple) else chosen
        clicks, _ = batch_env.recommend(slots, slates)
        per_position += clicks.sum(axis=0)
        clicked += int(clicks.any(axis=1).sum())
        impressions += len(slots)
        slots = batch_env.active_slots()
    return per_position.tolist(), clicked, impressions
