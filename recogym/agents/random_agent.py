"""The uniform random agent: the baseline every agent must beat."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import BatchAgent, UserBatch, keyed_uniform

__all__ = ["RandomAgent", "random_args"]

random_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class RandomAgent(BatchAgent):
    """Recommends a product uniformly at random, with propensity 1/P; with
    ``slate_size`` k > 1, a uniformly random ranking of k products.

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

    def scores(self, batch: UserBatch) -> np.ndarray:
        """Slates: independent uniform scores keyed by (seed, user, step,
        product), so a ranking by them is a uniformly random slate, the same
        through act and act_batch."""
        P = self.num_products
        products = np.asarray(batch.steps, dtype=np.uint64)[:, None] * np.uint64(P) + np.arange(P, dtype=np.uint64)
        return keyed_uniform(self.random_seed, np.asarray(batch.user_ids)[:, None], products)

    def slate_propensities(self, slates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The uniform slate's: ``1/perm(P, k)``, ``1/P`` per position and
        ``1/perm(P, j+1)`` per prefix."""
        B, k = slates.shape
        cascade = np.broadcast_to(np.cumprod(1.0 / (self.num_products - np.arange(k))), (B, k)).copy()
        return cascade[:, -1].copy(), np.full((B, k), 1.0 / self.num_products), cascade

    def legacy_draw(self, batch: UserBatch, probabilities: np.ndarray) -> np.ndarray:
        rng = self.legacy_rng()
        return np.array([rng.choice(self.num_products) for _ in batch.user_ids], dtype=np.int64)
