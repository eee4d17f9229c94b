"""Logging policies the log driver runs without Python per event: ``None``
(uniform), a fixed probability vector over products, and
:class:`UserPopularity`; for slates (``slate_size > 1``) ``None`` (uniform
slates) and :class:`UserPopularityRanking`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ._checks import check_real_in

__all__ = ["UserPopularity", "UserPopularityRanking", "LoggingPolicy", "MAX_EPSILON"]

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


@dataclass(frozen=True)
class UserPopularityRanking:
    """A slate logging policy (``slate_size`` k > 1): with probability
    ``1 - explore`` the user's k most viewed products so far, most viewed
    first (ties to the lower product id); with probability ``explore`` a
    uniformly random slate. Its propensities are exact: the slate's
    ``(1 - explore) [s = R] + explore / (P (P-1) ... (P-k+1))``, per position
    ``(1 - explore) [s_j = R_j] + explore / P``, per prefix likewise."""

    explore: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "explore", check_real_in("UserPopularityRanking explore", self.explore, 0.0, 1.0))


#: None (uniform), a probability vector over products, or UserPopularity.
LoggingPolicy = Union[None, UserPopularity, UserPopularityRanking, Any]
