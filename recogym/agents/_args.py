"""Agents' arguments: their defaults, and the checks of
:mod:`recogym._checks` applied to ``agent arg 'name'``."""
from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from .. import _checks
from ..params import OPTIONAL_ARGS, env_0_args, env_1_args

__all__ = ["with_defaults", "check_probability", "check_positive", "check_non_negative", "check_positive_integer",
           "check_flag", "check_mf_settings", "check_known_args"]


def with_defaults(defaults: Mapping[str, Any], config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` completed by an agent's ``*_args``, so a partial dict works."""
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"agent config must be a dict or Configuration, got {type(config).__name__}")
    return {**defaults, **(config or {})}


def _label(name: str) -> str:
    return f"agent arg {name!r}"


def check_probability(config: Mapping[str, Any], name: str) -> float:
    return _checks.check_probability(_label(name), config[name])


def check_positive(config: Mapping[str, Any], name: str) -> float:
    return _checks.check_positive_real(_label(name), config[name])


def check_non_negative(config: Mapping[str, Any], name: str) -> float:
    return _checks.check_non_negative_real(_label(name), config[name])


def check_positive_integer(config: Mapping[str, Any], name: str) -> int:
    value = config[name]
    if not _checks.is_integer(value):
        raise ValueError(f"{_label(name)} must be an integer >= 1, got {value!r}")
    return _checks.check_int_at_least(_label(name), value, 1)


def check_flag(config: Mapping[str, Any], name: str) -> bool:
    value = config[name]
    if not isinstance(value, bool):
        raise TypeError(f"{_label(name)} must be True or False, got {value!r}")
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


def check_known_args(config: Mapping[str, Any], allowed: Iterable[str], agent: str) -> None:
    """Refuse a key of ``config`` that looks like a misspelling of one of
    ``allowed``, naming it, the closest allowed one and all of them; warn of
    any other key that is neither allowed nor an env arg, which is ignored.

    Env args pass because 0.1.3.0's notebooks built one config for the env
    and the agent (``Configuration({**env_1_args, **logreg_poly_args})``);
    other keys warn rather than raise because 0.1.3.0's evaluation helpers
    pass their extra args to every agent they build.

    Raises
    ------
    ValueError
    """
    allowed = sorted(set(allowed))
    env_args = set(env_0_args) | set(env_1_args) | set(OPTIONAL_ARGS)
    for key in (key for key in config if key not in allowed and key not in env_args):
        nearest = difflib.get_close_matches(str(key), allowed, n=1)
        if nearest:
            raise ValueError(f"unknown agent arg {key!r} for {agent} (did you mean {nearest[0]!r}?); allowed: "
                             f"{', '.join(allowed)}, or any env arg")
        warnings.warn(f"agent arg {key!r} is not one of {agent}'s and is ignored; its args: {', '.join(allowed)}",
                      UserWarning, stacklevel=3)
