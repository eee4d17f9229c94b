"""Policies from scores: the shapes every agent's ``policy`` returns."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["greedy", "proportional", "per_last_view"]


def greedy(scores: np.ndarray) -> np.ndarray:
    """One-hot rows at each row's first highest score: a deterministic policy,
    whose actions have propensity 1."""
    scores = np.asarray(scores)
    policy = np.zeros(scores.shape)
    policy[np.arange(len(scores)), np.argmax(scores, axis=1)] = 1.0
    return policy


def proportional(weights: np.ndarray) -> np.ndarray:
    """Rows of non-negative ``weights`` scaled to sum to 1; a row of zeros
    gives the uniform policy, since it prefers nothing."""
    weights = np.asarray(weights, dtype=np.float64)
    totals = weights.sum(axis=1, keepdims=True)
    uniform = np.full(weights.shape, 1.0 / weights.shape[1])
    np.divide(weights, totals, out=uniform, where=totals > 0)
    return uniform


def per_last_view(last_view: np.ndarray, num_products: int,
                  policy_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The policy of agents that act on the last product viewed.

    ``policy_of(views)`` gives the rows for users whose last view is known;
    a user who has viewed nothing yet (``last_view == -1``) gets the uniform
    policy. (Every simulated user starts with a view, so this only matters
    for hand-made batches.)
    """
    last_view = np.asarray(last_view)
    policy = np.full((len(last_view), num_products), 1.0 / num_products)
    seen = last_view >= 0
    if seen.any():
        policy[seen] = policy_of(last_view[seen])
    return policy
