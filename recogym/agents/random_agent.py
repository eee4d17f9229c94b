"""The uniform random agent: the baseline every agent must beat."""
from __future__ import annotations

import numpy as np

from ..session import Action
from .base import Agent

__all__ = ["RandomAgent", "random_args"]

random_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class RandomAgent(Agent):
    """Recommends a product uniformly at random, with propensity 1/P."""

    def __init__(self, config=random_args) -> None:
        super().__init__(config)
        self.rng = np.random.Generator(np.random.PCG64(self.config.get("random_seed", 42)))
        self._ps_all = (np.full(self.num_products, 1.0 / self.num_products)
                        if self.config.get("with_ps_all", False) else ())

    def act(self, observation, reward, done) -> Action:
        return Action(self.rng.integers(self.num_products), 1.0 / self.num_products, self._ps_all)
