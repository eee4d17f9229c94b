"""Logging policies the log kernel runs without Python per event."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import _core
from .params import check_policy

__all__ = ["UserPopularity", "LoggingPolicy", "kernel_policy"]


@dataclass(frozen=True)
class UserPopularity:
    """Recommend in proportion to the user's own organic view counts plus
    ``epsilon``: the logging policy of 0.1.3.0's ``competition_score``
    (``OrganicUserEventCounterAgent`` with ``select_randomly`` and
    ``exploit_explore=False``)."""

    epsilon: float = 0.01

    def __post_init__(self) -> None:
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float, np.floating)) \
                or not math.isfinite(self.epsilon) or self.epsilon < 0:
            raise ValueError(f"UserPopularity epsilon must be a finite number >= 0, got {self.epsilon!r}")


#: None (uniform), a probability vector over products, or UserPopularity.
LoggingPolicy = Union[None, UserPopularity, Any]


def kernel_policy(policy: LoggingPolicy, num_products: int) -> tuple[int, np.ndarray, np.ndarray, float]:
    """``(kind, cdf, probabilities, epsilon)`` as ``Engine.simulate_logs`` takes them."""
    if policy is None:
        probabilities = np.full(num_products, 1.0 / num_products)
        kind, epsilon = _core.UNIFORM_POLICY, 0.0
    elif isinstance(policy, UserPopularity):
        probabilities = np.full(num_products, np.nan)
        kind, epsilon = _core.USER_POPULARITY_POLICY, float(policy.epsilon)
    else:
        probabilities = check_policy(policy, num_products)
        kind, epsilon = _core.FIXED_POLICY, 0.0
    cdf = np.nan_to_num(probabilities).cumsum()
    if cdf[-1] > 0:
        cdf /= cdf[-1]
    return kind, cdf, probabilities, epsilon
