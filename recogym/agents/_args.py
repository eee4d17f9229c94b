"""Agents' arguments: their defaults, and checks that name the argument."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..params import is_integer, is_real

__all__ = ["with_defaults", "check_probability", "check_positive", "check_non_negative", "check_positive_integer", "check_flag"]


def with_defaults(defaults: Mapping[str, Any], config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` completed by an agent's ``*_args``, so a partial dict works."""
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"agent config must be a dict or Configuration, got {type(config).__name__}")
    return {**defaults, **(config or {})}


def check_probability(config: Mapping[str, Any], name: str) -> float:
    value = config[name]
    if not is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"agent arg {name!r} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_positive(config: Mapping[str, Any], name: str) -> float:
    value = config[name]
    if not is_real(value) or not value > 0:
        raise ValueError(f"agent arg {name!r} must be a number > 0, got {value!r}")
    return float(value)


def check_non_negative(config: Mapping[str, Any], name: str) -> float:
    value = config[name]
    if not is_real(value) or not value >= 0:
        raise ValueError(f"agent arg {name!r} must be a number >= 0, got {value!r}")
    return float(value)


def check_positive_integer(config: Mapping[str, Any], name: str) -> int:
    value = config[name]
    if not is_integer(value) or value < 1:
        raise ValueError(f"agent arg {name!r} must be an integer >= 1, got {value!r}")
    return int(value)


def check_flag(config: Mapping[str, Any], name: str) -> bool:
    value = config[name]
    if not isinstance(value, bool):
        raise TypeError(f"agent arg {name!r} must be True or False, got {value!r}")
    return value


def check_mf_settings(config: Mapping[str, Any]) -> tuple[int, float, int, float]:
    """The matrix-factorisation agents' ``embed_dim``, ``learning_rate``,
    ``num_steps`` and ``l2_regularisation``, checked."""
    return (
        check_positive_integer(config, "embed_dim"),
        check_positive(config, "learning_rate"),
        check_positive_integer(config, "num_steps"),
        check_non_negative(config, "l2_regularisation"),
    )
