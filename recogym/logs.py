"""Logs: one row per event, the format every part of recogym reads and writes.

This module owns the format: the kinds of event, the columns with their
dtypes and missing values, the one constructor for rows built in Python,
and the conversions to pandas (``generate_logs``' DataFrame) and Arrow (the
Parquet files' schema). pyarrow is imported only when Arrow is asked for.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "EventKind",
    "Logs",
    "LogBuilder",
    "LogRow",
    "logs_from_rows",
    "as_logs",
    "log_schema",
    "LOG_COLUMNS",
    "COLUMN_DTYPES",
    "CONVERSION_DTYPES",
]


class EventKind(enum.IntEnum):
    """What a log row records: its code in ``Logs.z``."""

    #: An organic view of product ``v``.
    ORGANIC = 0
    #: An impression: product ``a`` recommended, clicked or not (``c``).
    BANDIT = 1

    @property
    def label(self) -> str:
        """The name ``generate_logs`` gives it in column ``z``."""
        return self.name.lower()


#: The columns of ``generate_logs``, in 0.1.3.0's order.
LOG_COLUMNS = ("t", "u", "z", "v", "a", "c", "ps")

#: The dtype of every column of :class:`Logs`.
COLUMN_DTYPES: dict[str, type[np.generic]] = {
    "t": np.float64,
    "u": np.int64,
    "z": np.int8,
    "v": np.int32,
    "a": np.int32,
    "c": np.int8,
    "ps": np.float64,
    "click_probability": np.float64,
}

#: The columns that logs of a model with conversions (env arg
#: ``with_conversions``) add, and their dtypes; other logs have none.
CONVERSION_DTYPES: dict[str, type[np.generic]] = {
    "conversion": np.int8,
    "conversion_probability": np.float64,
}

#: What a column holds on the rows where the event has no such value.
MISSING: dict[str, float] = {"v": -1, "a": -1, "c": -1, "ps": np.nan, "click_probability": np.nan,
                             "conversion": -1, "conversion_probability": np.nan}

#: One event as :func:`logs_from_rows` takes it: ``(t, u, z, v, a, c, ps, click_probability)``.
LogRow = tuple[float, int, int, int, int, int, float, float]

@functools.cache
def _z_categories() -> pd.CategoricalDtype:
    # Made on first use: building it at import touches pandas' pyarrow checks.
    return pd.CategoricalDtype([kind.label for kind in EventKind])


@dataclass(frozen=True)
class Logs:
    """One row per event: an organic view (``z == EventKind.ORGANIC``) or an
    impression (``z == EventKind.BANDIT``).

    Missing values are ``-1`` (``v`` on impressions; ``a`` and ``c`` on views)
    and NaN (``ps`` and ``click_probability`` on views).

    Attributes
    ----------
    t : float64 array
        Time of the event within the user's timeline.
    u : int64 array
        User id.
    z : int8 array
        The :class:`EventKind`: 0 for an organic view, 1 for an impression.
    v : int32 array
        Viewed product.
    a : int32 array
        Recommended product.
    c : int8 array
        1 if the impression was clicked.
    ps : float64 array
        Probability the logging policy gave to ``a``.
    click_probability : float64 array
        The true probability that ``a`` is clicked, known to the simulator.
    conversion : int8 array or None
        With conversions (env arg ``with_conversions``): 1 if the impression
        was clicked and the click converted, 0 if not (always 0 without a
        click), -1 on views. None for logs without conversions.
    conversion_probability : float64 array or None
        With conversions: the true probability that a click on ``a`` would
        convert (so ``click_probability * conversion_probability`` is the
        impression's probability of a conversion); NaN on views.
    """

    t: np.ndarray
    u: np.ndarray
    z: np.ndarray
    v: np.ndarray
    a: np.ndarray
    c: np.ndarray
    ps: np.ndarray
    click_probability: np.ndarray
    conversion: np.ndarray | None = None
    conversion_probability: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.t)

    @property
    def organic(self) -> np.ndarray:
        """True on the rows of organic views."""
        organic: np.ndarray = self.z == EventKind.ORGANIC
        return organic

    @property
    def impressions(self) -> np.ndarray:
        """True on the rows of impressions."""
        impressions: np.ndarray = self.z == EventKind.BANDIT
        return impressions

    @property
    def has_conversions(self) -> bool:
        """Whether the logs carry the conversion columns."""
        return self.conversion is not None

    @property
    def column_names(self) -> tuple[str, ...]:
        """The names of the columns these logs hold: :data:`COLUMN_DTYPES`'
        and, with conversions, :data:`CONVERSION_DTYPES`'."""
        names = tuple(COLUMN_DTYPES)
        return names + tuple(CONVERSION_DTYPES) if self.has_conversions else names

    def columns(self) -> dict[str, np.ndarray]:
        """The columns these logs hold, by name."""
        return {name: getattr(self, name) for name in self.column_names}

    def take(self, rows: np.ndarray) -> Logs:
        """The logs of ``rows`` (a boolean mask or indices)."""
        return Logs(**{name: column[rows] for name, column in self.columns().items()})

    @classmethod
    def concatenate(cls, parts: Sequence[Logs]) -> Logs:
        """The rows of ``parts``, one after the other (all with conversions,
        or none)."""
        if not parts:
            return logs_from_rows([])
        if len({part.has_conversions for part in parts}) > 1:
            raise ValueError("logs with conversion columns cannot be concatenated with logs without")
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts])
                      for name in parts[0].column_names})

    def to_pandas(self, ps_all: Any = None, *, nullable: bool = True) -> pd.DataFrame:
        """The logs as 0.1.3.0's DataFrame: columns t, u, z, v, a, c, ps,
        then ``conversion`` and ``conversion_probability`` in logs with
        conversions (``conversion`` as ``c``), and ``ps-a`` when ``ps_all``
        is given.

        ``z`` is categorical ('organic'/'bandit'). ``v``, ``a`` and ``c`` are
        nullable integers, missing where the event has no such value; with
        ``nullable=False`` they are floats with NaN there instead (``c``
        float32), as 0.1.3.0's notebooks met them (pandas before 1.0), so
        that ``math.isnan(row['a'])`` holds on a view's row.

        Parameters
        ----------
        ps_all : array_like, optional
            The logging policy's probability vector, the same at every
            impression, or one per impression (a sequence, in row order);
            ``()`` for none (0.1.3.0's value without ``with_ps_all``).
            ``ps-a`` holds it on impressions and None on views.
        """
        organic = self.organic
        v: Any
        a: Any
        c: Any
        if nullable:
            v, a, c = (pd.arrays.IntegerArray(self.v, ~organic), pd.arrays.IntegerArray(self.a, organic.copy()),
                       pd.arrays.IntegerArray(self.c, organic.copy()))
        else:
            v = np.where(organic, self.v, np.nan)
            a = np.where(organic, np.nan, self.a)
            c = np.where(organic, np.nan, self.c).astype(np.float32)
        frame = pd.DataFrame({
            "t": self.t,
            "u": self.u,
            "z": pd.Categorical.from_codes(self.z, dtype=_z_categories()),
            "v": v,
            "a": a,
            "c": c,
            "ps": self.ps,
        })
        if self.conversion is not None and self.conversion_probability is not None:
            frame["conversion"] = (pd.arrays.IntegerArray(self.conversion, organic.copy()) if nullable
                                   else np.where(organic, np.nan, self.conversion).astype(np.float32))
            frame["conversion_probability"] = self.conversion_probability
        if ps_all is not None:
            column = np.empty(len(self), dtype=object)
            rows = np.flatnonzero(~organic)
            per_impression = not isinstance(ps_all, (np.ndarray, tuple)) or np.ndim(ps_all) == 2
            for k, row in enumerate(rows):
                column[row] = ps_all[k] if per_impression else ps_all
            frame["ps-a"] = column
        return frame

    def to_arrow(self) -> pa.Table:
        """The logs as a pyarrow Table of :func:`log_schema`, with nulls
        where an event has no such value (``Logs`` holds -1 or NaN there)."""
        import pyarrow as pa

        organic, impression = self.organic, self.impressions
        arrays = [
            pa.array(self.t, pa.float64()),
            pa.array(self.u, pa.int64()),
            pa.DictionaryArray.from_arrays(pa.array(self.z, pa.int8()), _z_dictionary()),
            pa.array(self.v, pa.int32(), mask=impression),
            pa.array(self.a, pa.int32(), mask=organic),
            pa.array(self.c, pa.int8(), mask=organic),
            pa.array(self.ps, pa.float64(), mask=organic),
            pa.array(self.click_probability, pa.float64(), mask=organic),
        ]
        if self.conversion is not None:
            arrays += [pa.array(self.conversion, pa.int8(), mask=organic),
                       pa.array(self.conversion_probability, pa.float64(), mask=organic)]
        return pa.Table.from_arrays(arrays, schema=log_schema(self.has_conversions))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Logs:
        """The logs of a table with :func:`log_schema`'s columns (other
        columns are ignored; integer widths may differ). A table that also
        has both conversion columns gives logs with conversions.

        The arrays may be read-only views of Arrow's memory.

        Raises
        ------
        ValueError, TypeError
            If a column is missing, has the wrong type, holds values out of
            its type's range, or holds nulls where every event has a value.
        """
        import pyarrow as pa

        schema = log_schema(all(name in table.column_names for name in CONVERSION_DTYPES))
        missing = [name for name in schema.names if name not in table.column_names]
        if missing:
            raise ValueError(f"table lacks the log columns {missing}; it has {table.column_names}")
        columns = {"z": _event_codes(table["z"])}
        for field in schema:
            if field.name == "z":
                continue
            column = table[field.name]
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise TypeError(f"column {field.name!r} must hold {field.type} values, got {column.type}: "
                                f"{error}") from error
            if field.name in MISSING:
                column = column.fill_null(MISSING[field.name])
            elif column.null_count:
                raise ValueError(f"column {field.name!r} holds {column.null_count} nulls; every event has one")
            columns[field.name] = column.to_numpy()
        return cls(**columns)


def as_logs(logs: Any) -> Logs:
    """``logs`` as :class:`Logs`: Logs as they are, or a ``generate_logs``
    DataFrame (0.1.3.0's columns, nullable where an event has no value)
    converted; a DataFrame keeps no true click probabilities (NaN)."""
    if isinstance(logs, Logs):
        return logs
    if not isinstance(logs, pd.DataFrame):
        raise TypeError(f"logs must be recogym.Logs or a generate_logs DataFrame, got {type(logs).__name__}")
    missing = [column for column in LOG_COLUMNS if column not in logs.columns]
    if missing:
        raise ValueError(f"logs lack the columns {missing} of generate_logs")
    kinds = logs["z"].astype(str).to_numpy()
    labels = {kind.label: int(kind) for kind in EventKind}
    unknown = sorted(set(kinds) - set(labels))
    if unknown:
        raise ValueError(f"logs.z must be one of {sorted(labels)} on every row, got {unknown}")
    return Logs(
        t=logs["t"].to_numpy(dtype=np.float64, na_value=np.nan),
        u=logs["u"].to_numpy(dtype=np.int64),
        z=np.array([labels[kind] for kind in kinds], dtype=np.int8),
        v=logs["v"].to_numpy(dtype=np.int32, na_value=-1),
        a=logs["a"].to_numpy(dtype=np.int32, na_value=-1),
        c=logs["c"].to_numpy(dtype=np.int8, na_value=-1),
        ps=logs["ps"].to_numpy(dtype=np.float64, na_value=np.nan),
        click_probability=np.full(len(logs), np.nan),
    )


def logs_from_rows(rows: Iterable[LogRow]) -> Logs:
    """Logs from ``(t, u, z, v, a, c, ps, click_probability)`` tuples."""
    rows = list(rows)
    columns = list(zip(*rows)) if rows else [()] * len(COLUMN_DTYPES)
    return Logs(**{name: np.array(column, dtype=dtype)
                   for (name, dtype), column in zip(COLUMN_DTYPES.items(), columns)})


class LogBuilder:
    """Events collected one at a time in Python (an agent stepping through
    the classic env), as :class:`Logs` at the end."""

    def __init__(self, conversions: bool = False) -> None:
        self.rows: list[LogRow] = []
        self.ps_all: list[Any] = []
        #: With ``conversions``, each row's (conversion, conversion_probability).
        self.conversions: list[tuple[int, float]] | None = [] if conversions else None

    def views(self, times: Iterable[float], user: int, products: Iterable[int]) -> None:
        """Organic views of ``products`` by ``user`` at ``times``."""
        start = len(self.rows)
        self.rows.extend((time, user, EventKind.ORGANIC, product, -1, -1, np.nan, np.nan)
                         for time, product in zip(times, products))
        if self.conversions is not None:
            self.conversions.extend([(-1, np.nan)] * (len(self.rows) - start))

    def impression(self, time: float, user: int, action: int, click: int, ps: float,
                   click_probability: float = np.nan, ps_all: Any = None, conversion: int = -1,
                   conversion_probability: float = np.nan) -> None:
        """``action`` shown to ``user`` at ``time`` with propensity ``ps``,
        clicked or not; ``ps_all`` is the policy's whole vector, if kept;
        ``conversion`` and its probability are kept with conversions."""
        self.rows.append((time, user, EventKind.BANDIT, -1, action, click, ps, click_probability))
        self.ps_all.append(ps_all)
        if self.conversions is not None:
            self.conversions.append((conversion, conversion_probability))

    def build(self) -> Logs:
        logs = logs_from_rows(self.rows)
        if self.conversions is None:
            return logs
        conversion = np.array([row[0] for row in self.conversions], dtype=np.int8)
        probability = np.array([row[1] for row in self.conversions], dtype=np.float64)
        return dataclasses.replace(logs, conversion=conversion, conversion_probability=probability)


def log_schema(conversions: bool = False) -> pa.Schema:
    """The Arrow schema of logs. ``z`` reads as a pandas categorical; ``v``
    is null on impressions, and ``a``, ``c``, ``ps`` and
    ``click_probability`` on organic views. With ``conversions``, the
    columns ``conversion`` (int8) and ``conversion_probability`` follow,
    null on organic views."""
    import pyarrow as pa

    conversion_fields = [pa.field("conversion", pa.int8()), pa.field("conversion_probability", pa.float64())]
    return pa.schema([
        pa.field("t", pa.float64(), nullable=False),
        pa.field("u", pa.int64(), nullable=False),
        pa.field("z", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field("v", pa.int32()),
        pa.field("a", pa.int32()),
        pa.field("c", pa.int8()),
        pa.field("ps", pa.float64()),
        pa.field("click_probability", pa.float64()),
        *(conversion_fields if conversions else []),
    ])


def _z_dictionary() -> pa.Array:
    import pyarrow as pa

    return pa.array([kind.label for kind in EventKind], pa.string())


def _event_codes(column: pa.ChunkedArray) -> np.ndarray:
    """``z`` as :class:`EventKind` codes, whatever order each chunk's
    dictionary is in."""
    import pyarrow as pa

    if not (pa.types.is_dictionary(column.type) and pa.types.is_string(column.type.value_type)):
        raise TypeError(f"column 'z' must be dictionary-encoded strings ('organic'/'bandit'), "
                        f"got {column.type}")
    if column.null_count:
        raise ValueError(f"column 'z' holds {column.null_count} nulls; every event is 'organic' or 'bandit'")
    codes_of = {kind.label: int(kind) for kind in EventKind}
    parts = [np.empty(0, dtype=np.int8)]
    for chunk in column.chunks:
        lookup = np.array([codes_of.get(kind, -1) for kind in chunk.dictionary.to_pylist()], dtype=np.int8)
        codes = lookup[chunk.indices.to_numpy()]
        if (codes < 0).any():
            raise ValueError(f"column 'z' holds {chunk.dictionary.to_pylist()}; "
                             "events are 'organic' or 'bandit'")
        parts.append(codes)
    return np.concatenate(parts)

