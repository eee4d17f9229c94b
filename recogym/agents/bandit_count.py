"""0.1.3.0's BanditCount: the click-through rate of each action after each view."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..logs import Logs
from ._args import with_defaults
from ._policy import greedy, per_last_view
from .base import BatchAgent, UserBatch
from .features import impressions

__all__ = ["BanditCount", "bandit_count_args"]

bandit_count_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class BanditCount(BatchAgent):
    """Recommends the action with the best click-through rate among users whose
    last view was the same product.

    The rate of action ``a`` after a last view ``v`` is estimated as
    ``(clicks[v, a] + 1) / (impressions[v, a] + 2)`` (a uniform Beta prior),
    so untried actions count as 50% and get tried first. The choice is
    deterministic (propensity 1); ties go to the lowest product index.

    Parameters
    ----------
    config : dict or Configuration
        :data:`bandit_count_args`, which missing keys default to.

    Attributes
    ----------
    impressions, clicks : (P, P) float64 arrays
        Counts by last view (row) and action (column).
    """

    def __init__(self, config: Mapping[str, Any] | None = bandit_count_args) -> None:
        super().__init__(with_defaults(bandit_count_args, config))
        self.impressions = np.zeros((self.num_products, self.num_products))
        self.clicks = np.zeros((self.num_products, self.num_products))

    def train_logs(self, logs: Logs) -> None:
        shown = impressions(logs)
        seen = shown.last_view >= 0
        cell = shown.last_view[seen] * self.num_products + shown.actions[seen]
        size = self.num_products**2
        self.impressions += np.bincount(cell, minlength=size).reshape(self.impressions.shape)
        self.clicks += np.bincount(cell, shown.clicks[seen], minlength=size).reshape(self.clicks.shape)

    def ctr(self) -> np.ndarray:
        """(P, P) estimated click-through rates by last view and action."""
        self.fit_pending()
        return (self.clicks + 1.0) / (self.impressions + 2.0)

    def policy(self, batch: UserBatch) -> np.ndarray:
        ctr = self.ctr()
        return per_last_view(batch.last_view, self.num_products, lambda views: greedy(ctr[views]))

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by their estimated click-through rate after
        the user's last view (0.5 for a user with none)."""
        ctr = self.ctr()
        scores = np.full((len(batch.user_ids), self.num_products), 0.5)
        seen = np.asarray(batch.last_view) >= 0
        scores[seen] = ctr[np.asarray(batch.last_view)[seen]]
        return scores
