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
    """Recommends a product uniformly at random, with propensity 1/P."""

    def __init__(self, config: Mapping[str, Any] | None = random_args) -> None:
        super().__init__(config)

    def policy(self, batch: UserBatch) -> np.ndarray:
        return np.full((len(batch.user_ids), self.num_products), 1.0 / self.num_products)
