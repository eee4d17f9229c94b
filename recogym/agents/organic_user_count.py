"""0.1.3.0's OrganicUserEventCounterAgent: recommend what this user views."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..session import Session
from ._args import check_flag, check_probability, with_defaults
from ._policy import greedy, proportional
from .base import BatchAgent, UserBatch
from .features import weighted_view_counts

__all__ = ["OrganicUserEventCounterAgent", "organic_user_count_args"]

organic_user_count_args = {
    "num_products": 10,
    "random_seed": 42,
    # Draw the product in proportion to the user's views (else the most viewed).
    "select_randomly": True,
    "epsilon": 0.0,
    # With probability epsilon explore the products the user has not viewed
    # (else add epsilon to every count).
    "exploit_explore": True,
    # Without exploit_explore: favour the products the user views least.
    "reverse_pop": False,
    # Maps an array of view ages to weights; None counts every view as 1.
    "weight_history_function": None,
    "with_ps_all": False,
}


class _ActBatchUnlessWeighted:
    """``act_batch`` for agents without a ``weight_history_function`` only.

    A :class:`UserBatch` carries view counts but not when the views were, so
    an agent that weights views by age must follow each user's views through
    ``act``; without ``act_batch``, ``test_agent`` takes that per-user path.
    """

    def __get__(
        self,
        agent: OrganicUserEventCounterAgent | None,
        owner: type[OrganicUserEventCounterAgent] | None = None,
    ) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
        if agent is not None and agent.weight_history_function is not None:
            raise AttributeError("act_batch is unavailable with a weight_history_function: a UserBatch has "
                                 "no view times, so this agent acts per user with act()")
        act_batch: Callable[..., tuple[np.ndarray, np.ndarray]] = BatchAgent.act_batch.__get__(agent, owner)
        return act_batch


class OrganicUserEventCounterAgent(BatchAgent):
    """Recommends the products the user has viewed, in proportion to their views.

    It learns nothing offline: its policy is the user's own view counts ``n``.

    * With ``exploit_explore``: ``(1 - epsilon) * n / sum(n)``, plus
      ``epsilon`` spread over the products the user has not viewed (over all
      products once every one has been viewed).
    * Otherwise: ``(n + epsilon) / sum(n + epsilon)``; with ``reverse_pop``,
      ``1 - p`` renormalised, which favours the least viewed products.

    ``select_randomly`` draws from this policy; otherwise the agent takes its
    most probable product (propensity 1). A user with no views gets the
    uniform policy. Propensities are the policy's probabilities: 0.1.3.0
    reported only the explore or exploit branch's share.

    With ``legacy_draws`` (``rng='legacy'``) ``select_randomly`` draws as
    0.1.3.0 did, from ``RandomState(random_seed)``: with
    ``exploit_explore`` first the branch,
    ``rng.choice([True, False], p=[epsilon, 1 - epsilon])`` (drawn even
    when ``epsilon`` is 0), then the product, ``rng.choice(num_products,
    p=branch)`` from that branch's own distribution; otherwise the product
    alone from the policy. Where 0.1.3.0 divided by zero and failed (no view
    yet, or exploring when every product was viewed) the branch is uniform.
    Without ``select_randomly`` the agent takes the first most probable
    product, 0.1.3.0's ``np.argmax``, and draws nothing (0.1.3.0 failed
    there with ``exploit_explore``: it made no RandomState). A
    ``weight_history_function`` weights views by their age from the user's
    latest view, where 0.1.3.0 took int16-truncated ages from the current
    time in float32, so its legacy draws follow 0.1.3.0's pattern on
    weights of its own.

    Parameters
    ----------
    config : dict or Configuration
        :data:`organic_user_count_args`, which missing keys default to.
        ``weight_history_function``, if given, maps an array of view ages
        (time from each view to the user's latest view) to weights, which
        replace the counts. It needs each view's time, which
        :class:`UserBatch` does not carry, so such an agent has no
        ``act_batch`` and is served user by user; pass a picklable function
        (not a lambda) to pickle or deepcopy the agent.
    """

    act_batch = _ActBatchUnlessWeighted()

    def __init__(self, config: Mapping[str, Any] | None = organic_user_count_args) -> None:
        config = with_defaults(organic_user_count_args, config)
        weight_history_function = config["weight_history_function"]
        if weight_history_function is not None and not callable(weight_history_function):
            raise TypeError(f"agent arg 'weight_history_function' must be None or a function of an array of "
                            f"ages, got {weight_history_function!r}")
        self.weight_history_function = weight_history_function
        super().__init__(config)
        self.select_randomly = check_flag(self.config, "select_randomly")
        self.epsilon = check_probability(self.config, "epsilon")
        self.exploit_explore = check_flag(self.config, "exploit_explore")
        self.reverse_pop = check_flag(self.config, "reverse_pop")

    def policy(self, batch: UserBatch) -> np.ndarray:
        counts = np.asarray(batch.view_counts, dtype=np.float64)
        if self.exploit_explore:
            policy = (1.0 - self.epsilon) * proportional(counts) + self.epsilon * proportional(counts == 0)
        else:
            policy = proportional(counts + self.epsilon)
            if self.reverse_pop:
                policy = proportional(1.0 - policy)
        return policy if self.select_randomly else greedy(policy)

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by the policy before any greedy choice: the
        user's most viewed first (with ``reverse_pop``, least viewed)."""
        select_randomly, self.select_randomly = self.select_randomly, True
        try:
            return self.policy(batch)
        finally:
            self.select_randomly = select_randomly

    def legacy_draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        if not self.select_randomly:
            chosen: np.ndarray = np.argmax(probabilities, axis=1)
            return chosen
        if not self.exploit_explore:
            return super().legacy_draw(batch, probabilities)
        rng = self.legacy_rng()
        actions = []
        for counts in np.asarray(batch.view_counts, dtype=np.float64):
            explore = rng.choice([True, False], p=[self.epsilon, 1.0 - self.epsilon])
            branch = proportional((counts == 0)[None, :] if explore else counts[None, :])[0]
            actions.append(rng.choice(self.num_products, p=branch))
        return np.array(actions, dtype=np.int64)

    # -- the per-user path of a weight_history_function ----------------------

    def reset(self) -> None:
        super().reset()
        self._view_history: list[int] = []
        self._time_history: list[float] = []

    def _observe(self, observation: Session | None) -> None:
        super()._observe(observation)
        if self.weight_history_function is not None and observation:
            self._view_history.extend(observation.get_views())
            self._time_history.extend(observation.times)
            self._user_views = weighted_view_counts(self._view_history, self._time_history, self.num_products,
                                                    self.weight_history_function)
