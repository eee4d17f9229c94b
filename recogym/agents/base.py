"""The agent interface of RecoGym's notebook."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..params import Configuration, as_configuration, is_integer
from ..session import Action, Session

__all__ = ["Agent"]


class Agent:
    """Base class of agents: learn with :meth:`train`, recommend with :meth:`act`.

    Parameters
    ----------
    config : dict or Configuration
        The agent's arguments; at least ``num_products``.

    Notes
    -----
    ``train(observation, action, reward, done)`` receives the organic session
    seen before ``action`` (or ``None``), the action the logging policy took (an
    :class:`~recogym.Action`: an ``int`` whose ``ps`` attribute is its
    propensity, ``None`` when the user ended without one), and its click.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: Configuration = as_configuration(config)
        num_products = self.config.get("num_products")
        if not is_integer(num_products) or num_products < 1:
            raise ValueError(f"agent arg 'num_products' must be an integer >= 1, got {num_products!r}")
        self.num_products = int(num_products)

    def act(self, observation: Session | None, reward: int | None, done: bool) -> Action | int:
        """The product to recommend now."""
        raise NotImplementedError

    def train(self, observation: Session | None, action: Action | None, reward: int | None, done: bool) -> None:
        """Learn from one logged step; the default learns nothing."""

    def reset(self) -> None:
        """Forget the current user; called when a new user starts."""
