"""Logging policies the log driver runs without Python per event: ``None``
(uniform), a fixed probability vector over products, and
:class:`UserPopularity`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ._checks import check_real_in

__all__ = ["UserPopularity", "LoggingPolicy", "MAX_EPSILON"]

#: UserPopularity's pseudo-count is at most this, so that the sum of a
#: user's counts plus epsilon over every product stays finite.
MAX_EPSILON = 1e12


@dataclass(frozen=True)
class UserPopularity:
    """Recommend in proportion to the user's own organic view counts plus
    ``epsilon``: ``OrganicUserEventCounterAgent`` with ``select_randomly``
    and ``exploit_explore=False``, which the log driver runs itself
    (0.1.3.0's ``competition_score`` logs with ``exploit_explore=True``
    instead, as ``recogym leaderboard`` does)."""

    epsilon: float = 0.01

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_real_in("UserPopularity epsilon", self.epsilon, 0.0, MAX_EPSILON))


#: None (uniform), a probability vector over products, or UserPopularity.
LoggingPolicy = Union[None, UserPopularity, Any]
