"""The notebook's popularity agent."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..logs import Logs
from .base import BatchAgent, UserBatch

__all__ = ["PopularityAgent", "popularity_args"]

popularity_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class PopularityAgent(BatchAgent):
    """Recommends a product at random in proportion to its organic views.

    It counts every organic view it is trained on, over all users; until it
    has seen one it recommends uniformly.
    """

    def __init__(self, config: Mapping[str, Any] | None = popularity_args) -> None:
        super().__init__(config)
        self.organic_views = np.zeros(self.num_products)

    def train_logs(self, logs: Logs) -> None:
        views = logs.v[logs.organic]
        self.organic_views += np.bincount(views, minlength=self.num_products)

    def probabilities(self) -> np.ndarray:
        """The probability of recommending each product."""
        self.fit_pending()
        total = self.organic_views.sum()
        if total == 0:
            return np.full(self.num_products, 1.0 / self.num_products)
        probabilities: np.ndarray = self.organic_views / total
        return probabilities

    def policy(self, batch: UserBatch) -> np.ndarray:
        return np.broadcast_to(self.probabilities(), (len(batch.user_ids), self.num_products))

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates rank products by their organic views."""
        return self.policy(batch)
