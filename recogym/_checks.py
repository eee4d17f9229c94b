"""The validation boundary: one function per contract.

Every public entry point checks its arguments here before anything reaches a
kernel of :mod:`recogym._core`, which trusts what it is given. Each check
returns the value in the form the kernels take (an ``int``, a contiguous
``int64`` array, ...) or raises an exception that names the argument and the
values it may take.

``name`` is how the message refers to the argument, for example
``"num_users"`` or ``"env arg 'K'"``.
"""
from __future__ import annotations

import concurrent.futures
import difflib
import math
import numbers
import os
from collections.abc import Collection
from typing import Any

import numpy as np

__all__ = [
    "MAX_USER_ID",
    "USER_ID_LIMIT",
    "RNG_MODES",
    "is_integer",
    "is_real",
    "check_count",
    "check_positive_int",
    "check_int_at_least",
    "check_positive_real",
    "check_non_negative_real",
    "check_real_in",
    "check_probability",
    "check_flag",
    "check_choice",
    "seed_limit",
    "check_seed",
    "check_user_id",
    "check_user_range",
    "check_action",
    "check_actions",
    "check_slate",
    "check_slates",
    "check_slots",
    "check_probability_vector",
    "check_slate_array",
    "check_binary_array",
    "check_probability_array",
    "check_executor",
    "check_known_keys",
    "check_output_path",
]

#: The largest user id: ids are int64 in the logs and the engine.
MAX_USER_ID = 2**63 - 1
#: One past the largest user id: a range of users ends at most here.
USER_ID_LIMIT = MAX_USER_ID + 1

#: The random-number modes of an env.
RNG_MODES = ("default", "legacy")

# Probability vectors may sum to 1 up to this.
_SUM_TOLERANCE = 1e-8


def is_integer(value: Any) -> bool:
    """True for Python and numpy integers, not for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """True for Python and numpy real numbers, not for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int_at_least(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_count(name: str, value: Any) -> int:
    """``value`` as a non-negative int."""
    if not is_integer(value):
        raise TypeError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int of at least 1."""
    if not is_integer(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_real_in(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a finite float in ``[low, high]``."""
    if not is_real(value):
        raise TypeError(f"{name} must be a real number in [{low}, {high}], got {value!r}")
    if not (low <= value <= high) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def check_positive_real(name: str, value: Any) -> float:
    """``value`` as a finite float above 0."""
    if not is_real(value) or not math.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_non_negative_real(name: str, value: Any) -> float:
    """``value`` as a finite float of at least 0."""
    if not is_real(value) or not math.isfinite(value) or not value >= 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]."""
    if not is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool; 0 and 1 count as False and True."""
    if isinstance(value, (bool, np.bool_)) or (is_integer(value) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """``value``, one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def seed_limit(rng: str) -> int:
    """Seeds are below this: RandomState takes 32 bits, Philox keys 64."""
    return 2**32 if rng == "legacy" else 2**64


def check_seed(name: str, value: Any, rng: str = "default") -> int:
    """``value`` as a seed of the ``rng`` mode: an int in ``[0, seed_limit(rng))``."""
    seed = check_count(name, value)
    limit = seed_limit(rng)
    if seed >= limit:
        raise ValueError(f"{name} must be in [0, {limit}) for rng={rng!r}, got {seed}")
    return seed


def check_user_id(name: str, value: Any) -> int:
    """``value`` as a user id, an int in ``[0, MAX_USER_ID]``."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer in [0, {MAX_USER_ID}], got {value!r}")
    if not 0 <= value <= MAX_USER_ID:
        raise ValueError(f"{name} must be in [0, {MAX_USER_ID}], got {value}")
    return int(value)


def check_user_range(first_user: int, count: int, what: str = "first_user + number of users") -> None:
    """Users ``first_user .. first_user + count - 1`` all have valid ids."""
    if first_user + count > USER_ID_LIMIT:
        raise ValueError(f"user ids must stay below 2**63: {what} = {first_user + count}")


def check_action(action: Any, num_products: int, name: str = "action") -> int:
    """``action`` as an int product index in ``[0, num_products)``."""
    if type(action) is int and 0 <= action < num_products:   # the common case, first
        return action
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action[()]
    if not is_integer(action):
        raise TypeError(f"{name} must be an integer product index in [0, {num_products}), "
                        f"got {action!r} of type {type(action).__name__}")
    if not 0 <= action < num_products:
        raise ValueError(f"{name} must be in [0, {num_products}) (num_products), got {action}")
    return int(action)


def _integer_array(name: str, values: Any, length: int | None, what: str) -> np.ndarray:
    array = np.asarray(values)
    expected = f"shape ({length},)" if length is not None else "one dimension"
    if array.ndim != 1 or (length is not None and array.shape != (length,)) or not (
            np.issubdtype(array.dtype, np.integer) or (array.size == 0 and array.dtype == np.float64)):
        raise ValueError(f"{name} must be a 1-d integer array of {what} with {expected}, got "
                         f"{array.dtype} of shape {array.shape}")
    return array.astype(np.int64, copy=False)   # an empty list arrives as float64


def check_actions(name: str, actions: Any, length: int, num_products: int) -> np.ndarray:
    """``actions`` as a contiguous int64 array of ``length`` products in
    ``[0, num_products)``."""
    array = _integer_array(name, actions, length, "products")
    if array.size and (array.min() < 0 or array.max() >= num_products):
        bad = array[(array < 0) | (array >= num_products)][0]
        raise ValueError(f"{name} must be in [0, {num_products}) (num_products), got {bad}")
    return np.ascontiguousarray(array, dtype=np.int64)


def check_slate(name: str, slate: Any, slate_size: int, num_products: int) -> np.ndarray:
    """``slate`` as a contiguous int64 array of ``slate_size`` distinct
    products in ``[0, num_products)``: a ranking, top first."""
    if type(slate) in (list, tuple) and len(slate) == slate_size and all(
            type(product) is int and 0 <= product < num_products for product in slate) and len(
            set(slate)) == slate_size:   # the common case, first
        return np.array(slate, dtype=np.int64)
    rows = check_slates(name, np.asarray(slate)[np.newaxis] if np.ndim(slate) == 1 else slate, 1,
                               slate_size, num_products, one=True)
    first: np.ndarray = rows[0]
    return first


def check_slates(name: str, slates: Any, length: int, slate_size: int, num_products: int,
                        one: bool = False) -> np.ndarray:
    """``slates`` as a contiguous int64 array of shape ``(length,
    slate_size)``, each row ``slate_size`` distinct products in
    ``[0, num_products)``."""
    what = (f"a ranking of slate_size = {slate_size} distinct integer products in [0, {num_products})" if one
            else f"an integer array of shape ({length}, {slate_size}): one ranking of slate_size = {slate_size} "
                 f"distinct products in [0, {num_products}) per slot")
    try:
        array = np.asarray(slates)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {what}, got {slates!r}") from None
    if array.shape != (length, slate_size) or not np.issubdtype(array.dtype, np.integer):
        shown = slates if one else f"{array.dtype} of shape {array.shape}"
        raise (TypeError if array.size and not np.issubdtype(array.dtype, np.integer) else ValueError)(
            f"{name} must be {what}, got {shown!r}")
    if array.size and (array.min() < 0 or array.max() >= num_products):
        bad = array[(array < 0) | (array >= num_products)][0]
        raise ValueError(f"{name} must hold products in [0, {num_products}) (num_products), got {bad}")
    ordered = np.sort(array, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if repeated.any():
        row = int(np.argmax(repeated))
        raise ValueError(f"{name} must show distinct products (a slate is a ranking), got "
                         f"{array[row].tolist()}" + ("" if one else f" in row {row}"))
    return np.ascontiguousarray(array, dtype=np.int64)


def check_slots(name: str, slots: Any, num_slots: int, states: np.ndarray | None = None,
                wanted_state: int | None = None, state_name: str = "") -> np.ndarray:
    """``slots`` as a contiguous int64 array of distinct slots in
    ``[0, num_slots)``, each (given ``states``) in ``wanted_state``."""
    array = _integer_array(name, slots, None, "slots")
    if array.size and (array.min() < 0 or array.max() >= num_slots):
        bad = array[(array < 0) | (array >= num_slots)][0]
        raise ValueError(f"{name} must hold slots in [0, {num_slots}) (num_envs), got {bad}")
    taken = np.zeros(num_slots, dtype=np.bool_)
    taken[array] = True
    if int(taken.sum()) != array.size:
        values, counts = np.unique(array, return_counts=True)
        raise ValueError(f"{name} must not repeat a slot (each slot holds one user), got slot "
                         f"{values[counts > 1][0]} more than once")
    if states is not None and array.size:
        wrong = states[array] != wanted_state
        if wrong.any():
            raise ValueError(f"{name} must hold only slots whose user {state_name}; slot "
                             f"{array[wrong][0]} has none")
    return np.ascontiguousarray(array, dtype=np.int64)


def check_probability_vector(name: str, values: Any, size: int) -> np.ndarray:
    """``values`` as a contiguous float64 probability vector of ``size``
    entries: finite, non-negative, summing to 1."""
    try:
        p = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a probability vector of shape ({size},) (num_products), "
                        f"got {values!r}") from None
    if p.shape != (size,):
        raise ValueError(f"{name} must be a probability vector of shape ({size},) (num_products), "
                         f"got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{name} must hold finite, non-negative probabilities summing to 1")
    return np.ascontiguousarray(p)


def check_slate_array(name: str, slates: Any) -> np.ndarray:
    """``slates`` as a contiguous (impressions, k) int64 array of rankings:
    at least one impression, each of k >= 1 distinct product ids >= 0."""
    array = np.asarray(slates)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer) or 0 in array.shape:
        raise ValueError(f"{name} must be a 2-d integer array of product ids of shape (impressions, k), "
                         f"with at least one impression and k >= 1, got {array.dtype} of shape {array.shape}")
    if array.min() < 0:
        raise ValueError(f"{name} must hold product ids >= 0, got {array.min()}")
    ordered = np.sort(array, axis=1)
    repeats = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    if repeats.any():
        row = int(np.flatnonzero(repeats)[0])
        raise ValueError(f"{name} must rank k distinct products in each row; row {row} repeats one: "
                         f"{array[row].tolist()}")
    return np.ascontiguousarray(array, dtype=np.int64)


def check_binary_array(name: str, values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` as a float64 array of ``shape`` holding only 0 and 1
    (clicks); bools and integers are taken."""
    array = np.asarray(values)
    if array.shape != shape or not (array.dtype == np.bool_ or np.issubdtype(array.dtype, np.number)):
        raise ValueError(f"{name} must be an array of 0s and 1s of shape {shape}, got {array.dtype} of "
                         f"shape {array.shape}")
    array = array.astype(np.float64)
    wrong = (array != 0.0) & (array != 1.0)
    if wrong.any():
        raise ValueError(f"{name} must hold only 0 and 1, got {float(array[wrong][0])!r}")
    return array


def check_probability_array(name: str, values: Any, shape: tuple[int, ...], positive: bool = False) -> np.ndarray:
    """``values`` as a float64 array of ``shape`` of probabilities in [0, 1],
    or in (0, 1] if ``positive`` (what a weight may divide by)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of probabilities of shape {shape}, got {values!r}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must be an array of probabilities of shape {shape}, got shape {array.shape}")
    low_ok = array > 0.0 if positive else array >= 0.0
    wrong = ~(low_ok & (array <= 1.0))    # NaN is wrong too
    if wrong.any():
        interval = "(0, 1]" if positive else "[0, 1]"
        raise ValueError(f"{name} must hold probabilities in {interval}, got {float(array[wrong][0])!r}")
    return array


def check_probability_rows(name: str, rows: Any, shape: tuple[int, int]) -> np.ndarray:
    """``rows`` as a float64 array of ``shape`` whose rows are probability
    vectors: finite, non-negative, each summing to 1 (what a policy returns)."""
    array = np.asarray(rows, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must return probabilities of shape (users, num_products) = {shape}, "
                         f"got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all() or (array < 0).any():
        bad = array[~finite | (array < 0)][0]
        raise ValueError(f"{name} must return finite, non-negative probabilities, got {bad!r}")
    sums = array.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        raise ValueError(f"{name} must return rows that sum to 1, got a row summing to {sums[off][0]!r}")
    return array


def check_executor(executor: Any) -> concurrent.futures.Executor | None:
    """``executor``: None or a ``concurrent.futures.Executor``."""
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor (such as a dask distributed "
                        f"Client's get_executor()), got {executor!r}")
    return executor


def check_known_keys(name: str, keys: Collection[str], known: Collection[str], kind: str = "key") -> None:
    """Every one of ``keys`` is among ``known``: a misspelled key is an error
    naming the closest known one, never a setting silently ignored. ``kind``
    is what the message calls a key."""
    for key in keys:
        if key not in known:
            nearest = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise ValueError(f"{name}: unknown {kind} {key!r}{hint} Known: {', '.join(sorted(known))}")


def check_output_path(name: str, path: str | os.PathLike[str], suffixes: Collection[str] | None = None) -> None:
    """``path`` can be written: its folder exists and is writable, it is not a
    folder, and its extension (lower-cased) is among ``suffixes`` if given.
    Checked before any work, so a typo does not cost a whole run."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{name} {target}: no such directory {folder}")
    if os.path.isdir(target):
        raise IsADirectoryError(f"{name} {target}: is a directory")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{name} {target}: directory {folder} is not writable")
    suffix = os.path.splitext(target)[1].lower()
    if suffixes is not None and suffix not in suffixes:
        raise ValueError(f"{name} {target}: the extension must be one of {', '.join(sorted(suffixes))}, "
                         f"got {suffix or 'none'!r}")
