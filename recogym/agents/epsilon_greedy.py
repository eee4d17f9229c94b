"""0.1.3.0's EpsilonGreedy: any agent, with a share of exploration."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..logs import Logs
from ._args import check_flag, check_probability, with_defaults
from ._policy import proportional
from .base import BatchAgent, UserBatch, choose, keyed_uniform

__all__ = ["EpsilonGreedy", "epsilon_greedy_args"]

# Offsets of the keyed streams of the exploration coin and of the explored
# product from the agent's seed, so neither repeats the wrapped agent's draw.
_COIN_STREAM = 0x5EED_C0
_EXPLORE_STREAM = 0x5EED_E0

epsilon_greedy_args = {
    "random_seed": 42,
    "epsilon": 0.01,
    # Explore only products other than the one the wrapped agent would show.
    "epsilon_pure_new": True,
    # Explore in proportion to 1 - the wrapped agent's probability.
    "epsilon_select_worse": False,
    "with_ps_all": False,
}


class EpsilonGreedy(BatchAgent):
    """Follows ``agent``, except that with probability ``epsilon`` it explores.

    Exploration draws a product uniformly, or in proportion to
    ``1 - agent's probability`` with ``epsilon_select_worse``; with
    ``epsilon_pure_new`` never the product ``agent`` would have shown. The
    policy, and so every propensity, is the exact mixture
    ``(1 - epsilon) * p + epsilon * explore``, where with
    ``epsilon_pure_new`` ``explore`` averages over the product ``agent``
    would have drawn from ``p``. (0.1.3.0 reported only the branch taken.)
    Where exploration has nothing left to choose (one product), it keeps the
    agent's product.

    With ``legacy_draws`` (``rng='legacy'``; it switches the wrapped agent's
    on too) it draws as 0.1.3.0 did: the wrapped agent draws its product
    from its own RandomState, then this agent's ``RandomState(random_seed)``
    draws the coin ``rng.choice([True, False], p=[epsilon, 1 - epsilon])``
    and, when exploring, ``rng.choice(num_products, p=explore)``.
    ``epsilon_select_worse`` weighs ``1 -`` the wrapped agent's policy,
    where 0.1.3.0 took its ``ps-a`` (the same for a deterministic agent).

    Parameters
    ----------
    config : dict or Configuration
        :data:`epsilon_greedy_args`, which missing keys default to;
        ``num_products`` defaults to the agent's.
    agent : BatchAgent
        The agent to follow; trained through this one.

    Raises
    ------
    TypeError
        If ``agent`` has no batch policy (an agent with a
        ``weight_history_function`` acts only per user).
    ValueError
        If ``num_products`` differs from the agent's.
    """

    def __init__(self, config: Mapping[str, Any] | None, agent: BatchAgent) -> None:
        if not isinstance(agent, BatchAgent) or not hasattr(agent, "act_batch"):
            raise TypeError(f"agent must be a BatchAgent whose policy acts on a UserBatch, got {agent!r}")
        config = with_defaults(epsilon_greedy_args, {"num_products": agent.num_products, **(config or {})})
        if config["num_products"] != agent.num_products:
            raise ValueError(f"agent arg 'num_products' ({config['num_products']!r}) must equal the wrapped "
                             f"agent's ({agent.num_products})")
        super().__init__(config)
        self.agent = agent
        if self.legacy_draws:
            agent.set_legacy_draws(True)
        self.epsilon = check_probability(self.config, "epsilon")
        self.epsilon_pure_new = check_flag(self.config, "epsilon_pure_new")
        self.epsilon_select_worse = check_flag(self.config, "epsilon_select_worse")

    def train_logs(self, logs: Logs) -> None:
        self.agent.train_logs(logs)

    def policy(self, batch: UserBatch) -> np.ndarray:
        self.fit_pending()
        self.agent.fit_pending()
        return self._mixture(self.agent.checked_policy(batch))

    def _mixture(self, followed: np.ndarray) -> np.ndarray:
        weights = self._explore_weights(followed)
        if self.epsilon_pure_new:
            explore = _explore_other_than_drawn(followed, weights)
        else:
            explore = proportional(weights)
        return (1.0 - self.epsilon) * followed + self.epsilon * explore

    def decide(self, batch: UserBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The products for every user of ``batch``, their propensities (the
        exact mixture's) and whether each was explored.

        The draw follows the policy's two branches, each from its own keyed
        stream: the wrapped agent's product, then a coin that explores with
        probability ``epsilon``, then the explored product.
        """
        self.fit_pending()
        self.agent.fit_pending()
        followed = self.agent.checked_policy(batch)
        rows = np.arange(len(batch.user_ids))
        greedy = self.agent.draw(batch, followed)
        weights = self._explore_weights(followed)
        if self.epsilon_pure_new:
            weights[rows, greedy] = 0.0
        if self.legacy_draws:
            actions, explored = self._legacy_explore(greedy, weights)
            return actions, self._mixture(followed)[rows, actions], explored
        # Where nothing else is left to explore, the wrapper keeps the agent's product.
        can_explore = weights.sum(axis=1) > 0
        coin = keyed_uniform(self.random_seed + _COIN_STREAM, batch.user_ids, batch.steps) < self.epsilon
        explored = coin & can_explore
        explore = proportional(weights)
        alternative = choose(explore, keyed_uniform(self.random_seed + _EXPLORE_STREAM, batch.user_ids, batch.steps))
        actions = np.where(explored, alternative, greedy)
        return actions, self._mixture(followed)[rows, actions], explored

    def _legacy_explore(self, greedy: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """0.1.3.0's coin and explored product, user after user, from this
        agent's own RandomState (the wrapped agent draws from its own, so
        the order between the two does not matter)."""
        rng = self.legacy_rng()
        actions, explored = greedy.copy(), np.zeros(len(greedy), dtype=bool)
        for row, row_weights in enumerate(weights):
            # 0.1.3.0 failed (0 / 0) where nothing is left to explore; the agent's product stays.
            if rng.choice([True, False], p=[self.epsilon, 1.0 - self.epsilon]) and row_weights.sum() > 0:
                actions[row] = rng.choice(self.num_products, p=row_weights / np.sum(row_weights))
                explored[row] = True
        return actions, explored

    def set_legacy_draws(self, legacy: bool = True) -> None:
        super().set_legacy_draws(legacy)
        self.agent.set_legacy_draws(legacy)

    def draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        """:meth:`decide`'s products: the mixture ``probabilities`` drawn
        branch by branch."""
        actions, _, _ = self.decide(batch)
        return actions

    def act_batch(self, batch: UserBatch) -> tuple[np.ndarray, np.ndarray]:
        actions, propensities, _ = self.decide(batch)
        return actions, propensities

    def _explore_weights(self, followed: np.ndarray) -> np.ndarray:
        return 1.0 - followed if self.epsilon_select_worse else np.ones(followed.shape)


def _explore_other_than_drawn(followed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The exploration policy that draws in proportion to ``weights`` among
    the products other than ``g``, where ``g`` is drawn from ``followed``:

    ``explore(a) = sum_g followed(g) * weights(a) [a != g] / (W - weights(g))``
    ``= weights(a) * (R - r(a))`` with ``r(g) = followed(g) / (W - weights(g))``
    and ``R = sum_g r(g)``, ``W = sum_a weights(a)``.
    """
    others = weights.sum(axis=1, keepdims=True) - weights
    stuck = others <= 0
    r = np.divide(followed, others, out=np.zeros(followed.shape), where=~stuck)
    # With no other product to explore, exploration keeps the drawn one.
    explore: np.ndarray = weights * (r.sum(axis=1, keepdims=True) - r) + followed * stuck
    return explore
