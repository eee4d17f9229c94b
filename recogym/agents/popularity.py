"""The notebook's popularity agent."""
from __future__ import annotations

import numpy as np

from ..session import Action
from .base import Agent

__all__ = ["PopularityAgent", "popularity_args"]

popularity_args = {
    "num_products": 10,
    "random_seed": 42,
    "with_ps_all": False,
}


class PopularityAgent(Agent):
    """Recommends a product at random in proportion to its organic views.

    It counts every organic view it is trained on; until it has seen one it
    recommends uniformly.
    """

    def __init__(self, config=popularity_args) -> None:
        super().__init__(config)
        self.rng = np.random.Generator(np.random.PCG64(self.config.get("random_seed", 42)))
        self.organic_views = np.zeros(self.num_products)

    def train(self, observation, action, reward, done) -> None:
        if observation is not None:
            np.add.at(self.organic_views, observation.get_views(), 1)

    def probabilities(self) -> np.ndarray:
        """The probability of recommending each product."""
        total = self.organic_views.sum()
        if total == 0:
            return np.full(self.num_products, 1.0 / self.num_products)
        return self.organic_views / total

    def act(self, observation, reward, done) -> Action:
        p = self.probabilities()
        product = int(np.searchsorted(np.cumsum(p), self.rng.random() * p.sum(), side="right"))
        product = min(product, self.num_products - 1)
        return Action(product, p[product], p if self.config.get("with_ps_all", False) else ())
