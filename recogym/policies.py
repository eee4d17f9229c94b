"""Logging policies the log driver runs without Python per event: ``None``
(uniform), a fixed probability vector over products, and
:class:`UserPopularity`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ._checks import check_non_negative_real

__all__ = ["UserPopularity", "LoggingPolicy"]


@dataclass(frozen=True)
class UserPopularity:
    """Recommend in proportion to the user's own organic view counts plus
    ``epsilon``: the logging policy of 0.1.3.0's ``competition_score``
    (``OrganicUserEventCounterAgent`` with ``select_randomly`` and
    ``exploit_explore=False``)."""

    epsilon: float = 0.01

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_non_negative_real("UserPopularity epsilon", self.epsilon))


#: None (uniform), a probability vector over products, or UserPopularity.
LoggingPolicy = Union[None, UserPopularity, Any]
