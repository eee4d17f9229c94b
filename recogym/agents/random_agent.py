"""The uniform random agent: the baseline every agent must beat."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import BatchAgent, UserBatch

__all__ = ["RandomAgent", "random_args"]

random_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class RandomAgent(BatchAgent):
    """Recommends a product uniformly at random, with propensity 1/P.

    With ``legacy_draws`` (``rng='legacy'``) it draws as 0.1.3.0's
    ``RandomAgent`` did: ``RandomState(random_seed).choice(num_products)``
    at every act, a masked integer draw rather than a uniform's inverse CDF.
    (0.1.3.0's ``random_args`` drew a new ``random_seed`` at every import;
    this one's is fixed.)
    """

    def __init__(self, config: Mapping[str, Any] | None = random_args) -> None:
        super().__init__(config)

    def policy(self, batch: UserBatch) -> np.ndarray:
        return np.full((len(batch.user_ids), self.num_products), 1.0 / self.num_products)

    def legacy_draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        rng = self.legacy_rng()
        return np.array([rng.choice(self.num_products) for _ in batch.user_ids], dtype=np.int64)
