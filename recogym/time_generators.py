"""Time generators: how the clock of a user's timeline moves on at every event.

An env arg ``'time_generator'`` is ``'default'`` (+1 per event), ``'normal'``
(+|N(normal_time_mu, normal_time_sigma²)|), or an object with 0.1.3.0's
:class:`TimeGenerator` interface. The engine runs the two built-in kinds
itself; any other object is called back for every event (classic env only).

In legacy mode a :class:`NormalTimeGenerator` object owns its random stream,
as 0.1.3.0's did: seeded once, from its config's ``random_seed``, when it is
built, and never reseeded by the env, so that it goes on across
``reset_random_seed`` and is shared by every env given the same object.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["TimeGenerator", "DefaultTimeGenerator", "NormalTimeGenerator", "LegacyStream", "legacy_mt19937",
           "time_generator_kind"]


def legacy_mt19937(seed: int) -> np.random.MT19937:
    """The bit generator of ``RandomState(seed)``, seeded as 0.1.3.0 seeds it."""
    state = np.random.RandomState(seed).get_state(legacy=False)
    generator = np.random.MT19937()
    generator.state = {"bit_generator": "MT19937", "state": state["state"]}
    return generator


class LegacyStream:
    """One ``RandomState`` as 0.1.3.0 seeds it, as the engine's legacy draws
    continue it: its MT19937 and the cached second normal of its polar pair."""

    __slots__ = ("bit_generator", "gauss")

    def __init__(self, seed: int) -> None:
        self.bit_generator = legacy_mt19937(seed)
        self.gauss = np.zeros(2)

    def normal(self) -> float:
        """One standard normal, as ``RandomState.normal`` draws it, cache included."""
        state = np.random.RandomState(self.bit_generator)
        legacy_state: Any = state.get_state(legacy=True)
        state.set_state((*legacy_state[:3], int(self.gauss[0]), float(self.gauss[1])))
        value = float(state.standard_normal())
        _, _, _, has_gauss, cached = state.get_state(legacy=True)
        self.gauss[:] = (has_gauss, cached)
        return value

    def __getstate__(self) -> tuple[np.random.MT19937, np.ndarray]:
        return self.bit_generator, self.gauss

    def __setstate__(self, state: tuple[np.random.MT19937, np.ndarray]) -> None:
        self.bit_generator, self.gauss = state


def _get(config: Any, name: str, default: Any) -> Any:
    if isinstance(config, Mapping):
        return config.get(name, default)
    return getattr(config, name, default)


class TimeGenerator:
    """0.1.3.0's interface: ``new_time()`` hands out the time of the next
    event, ``reset()`` restarts the clock for a new user. Subclass it (or
    write any object with these two methods) for a clock of your own."""

    kind = "custom"

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def new_time(self) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class DefaultTimeGenerator(TimeGenerator):
    """Time moves on by 1 at every event (the default)."""

    kind = "default"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.current_time = 0.0

    def new_time(self) -> float:
        time = self.current_time
        self.current_time += 1
        return time

    def reset(self) -> None:
        self.current_time = 0.0


class NormalTimeGenerator(TimeGenerator):
    """Time moves on by ``|N(normal_time_mu, normal_time_sigma**2)|`` at every
    event, and the omega random walk's step grows with it.

    Pass ``'time_generator': 'normal'`` (with ``normal_time_mu`` and
    ``normal_time_sigma``) in the env args, or an instance of this class as
    0.1.3.0 took it: its own ``normal_time_mu``/``normal_time_sigma`` then win
    over the env args', and in legacy mode its stream (seeded from
    ``config.random_seed``, 0 when absent) drives the env's clock.
    """

    kind = "normal"

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.current_time = 0.0
        self.normal_time_mu = _get(config, "normal_time_mu", 0.0)
        self.normal_time_sigma = _get(config, "normal_time_sigma", 1.0)
        self.stream = LegacyStream(int(_get(config, "random_seed", 0) or 0))

    def new_time(self) -> float:
        time = self.current_time
        self.current_time += abs(self.normal_time_mu + self.normal_time_sigma * self.stream.normal())
        return time

    def reset(self) -> None:
        self.current_time = 0.0


def time_generator_kind(value: Any) -> str:
    """``'default'``, ``'normal'`` or ``'custom'`` (an object the engine calls
    back) for an env's ``time_generator`` arg; raises for anything else."""
    if value is None or isinstance(value, str):
        kind = "default" if value is None else value
        if kind not in ("default", "normal"):
            raise ValueError(f"env arg 'time_generator' must be 'default', 'normal' or a time generator object "
                             f"(with new_time() and reset()), got {value!r}")
        return kind
    if not (callable(getattr(value, "new_time", None)) and callable(getattr(value, "reset", None))):
        raise TypeError(f"env arg 'time_generator' must be 'default', 'normal' or an object with new_time() and "
                        f"reset() methods, got {value!r}")
    # A subclass that brings its own new_time is called back like any object.
    for builtin in (DefaultTimeGenerator, NormalTimeGenerator):
        if isinstance(value, builtin) and type(value).new_time is builtin.new_time:
            return builtin.kind
    return "custom"
