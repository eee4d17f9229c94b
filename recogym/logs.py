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
    "SlateColumns",
    "SLATE_COLUMN_DTYPES",
    "with_slate",
    "per_position",
    "slate_schema_fields",
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

#: The per-position columns of slate logs (env arg ``slate_size`` k > 1),
#: ``Logs.slate_<name>`` of shape ``(rows, k)``, and their dtypes; other logs
#: have none (:class:`SlateColumns` names them without the prefix).
SLATE_COLUMN_DTYPES: dict[str, type[np.generic]] = {
    "a": np.int32,
    "c": np.int8,
    "pscore_item_position": np.float64,
    "pscore_cascade": np.float64,
    "click_probability": np.float64,
}
SLATE_MISSING: dict[str, float] = {"a": -1, "c": -1, "pscore_item_position": np.nan, "pscore_cascade": np.nan,
                                   "click_probability": np.nan}
_SLATE_FIELDS = tuple(f"slate_{name}" for name in SLATE_COLUMN_DTYPES)

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
class SlateColumns:
    """The per-position columns of slate logs (``slate_size`` k > 1): arrays
    of shape ``(rows, k)`` aligned with the rows of their :class:`Logs`
    (``Logs.slate_a`` ...), ``-1`` / NaN on organic rows.

    Attributes
    ----------
    a : int32 array
        The slate: the product at each position, top first.
    c : int8 array
        1 where the position was clicked.
    pscore_item_position : float64 array
        The logging policy's probability of showing that product at that
        position (OBP's ``pscore_item_position``).
    pscore_cascade : float64 array
        Its probability of showing the slate's positions ``0 .. j`` as shown
        (OBP's ``pscore_cascade``); the last is the slate's, ``Logs.ps``.
    click_probability : float64 array
        The true probability of a click at that position, given the slate.
    """

    a: np.ndarray
    c: np.ndarray
    pscore_item_position: np.ndarray
    pscore_cascade: np.ndarray
    click_probability: np.ndarray

    @property
    def slate_size(self) -> int:
        return int(self.a.shape[1])

    @classmethod
    def empty(cls, rows: int, slate_size: int) -> SlateColumns:
        """Columns for ``rows`` organic rows (all missing)."""
        return cls(**{name: np.full((rows, slate_size), SLATE_MISSING[name], dtype=dtype)
                      for name, dtype in SLATE_COLUMN_DTYPES.items()})


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
    slate_a, slate_c, slate_pscore_item_position, slate_pscore_cascade, slate_click_probability : arrays or None
        With slates (env arg ``slate_size`` k > 1), the per-position columns,
        ``(rows, k)``: see :class:`SlateColumns` (:attr:`slate`). ``a`` is
        then the slate's top product, ``c`` 1 if any position was clicked,
        ``ps`` the slate's probability under the logging policy and
        ``click_probability`` the true probability of any click. None for
        logs of one product per impression.
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
    slate_a: np.ndarray | None = None
    slate_c: np.ndarray | None = None
    slate_pscore_item_position: np.ndarray | None = None
    slate_pscore_cascade: np.ndarray | None = None
    slate_click_probability: np.ndarray | None = None

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
    def slate(self) -> SlateColumns | None:
        """The per-position columns of slate logs, or None."""
        if self.slate_a is None:
            return None
        return SlateColumns(*(getattr(self, name) for name in _SLATE_FIELDS))

    @property
    def column_names(self) -> tuple[str, ...]:
        """The names of the columns these logs hold: :data:`COLUMN_DTYPES`',
        with conversions :data:`CONVERSION_DTYPES`', and with slates the
        ``slate_*`` columns (:data:`SLATE_COLUMN_DTYPES`)."""
        names = tuple(COLUMN_DTYPES)
        names = names + tuple(CONVERSION_DTYPES) if self.has_conversions else names
        return names + _SLATE_FIELDS if self.slate_a is not None else names

    def slate_feedback(self) -> dict[str, np.ndarray]:
        """The impressions of slate logs as OBP's slate estimators (and
        :mod:`recogym.evaluation.slate_ope`) take them: ``slates`` (n, k),
        ``clicks`` (n, k), ``pscore`` (n,), ``pscore_item_position`` (n, k),
        ``pscore_cascade`` (n, k) and the true ``click_probability`` (n, k)
        of each position, with ``user`` (n,) and ``time`` (n,).

        Raises
        ------
        ValueError
            For logs without slates (``slate_size`` 1).
        """
        slate = self.slate
        if slate is None:
            raise ValueError("these logs have no slates: simulate them with env arg slate_size > 1")
        rows = self.impressions
        return {"slates": slate.a[rows].astype(np.int64), "clicks": slate.c[rows].astype(np.int64),
                "pscore": self.ps[rows], "pscore_item_position": slate.pscore_item_position[rows],
                "pscore_cascade": slate.pscore_cascade[rows], "click_probability": slate.click_probability[rows],
                "user": self.u[rows], "time": self.t[rows]}

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
        sizes = {None if part.slate is None else part.slate.slate_size for part in parts}
        if len(sizes) > 1:
            raise ValueError(f"logs of different slate sizes cannot be concatenated: {sorted(map(str, sizes))}")
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts])
                      for name in parts[0].column_names})

    def to_pandas(self, ps_all: Any = None, *, nullable: bool = True) -> pd.DataFrame:
        """The logs as 0.1.3.0's DataFrame: columns t, u, z, v, a, c, ps,
        then ``conversion`` and ``conversion_probability`` in logs with
        conversions (``conversion`` as ``c``), the per-position ``slate_*``
        columns in slate logs (an array per impression, None on views), and
        ``ps-a`` when ``ps_all`` is given.

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
        if self.slate is not None:
            # Slate logs: the per-position columns, an array per impression (None on views).
            for name in _SLATE_FIELDS:
                values, per_row = getattr(self, name), np.full(len(self), None, dtype=object)
                for row in np.flatnonzero(~organic):
                    per_row[row] = values[row]
                frame[name] = per_row
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
        slate = self.slate
        if slate is not None:
            arrays += _slate_arrays(slate, organic)
        return pa.Table.from_arrays(arrays, schema=log_schema(self.has_conversions,
                                                              1 if slate is None else slate.slate_size))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Logs:
        """The logs of a table with :func:`log_schema`'s columns (other
        columns are ignored; integer widths may differ). A table that also
        has both conversion columns gives logs with conversions, and one with
        the ``slate_*`` columns slate logs.

        The arrays may be read-only views of Arrow's memory.

        Raises
        ------
        ValueError, TypeError
            If a column is missing, has the wrong type, holds values out of
            its type's range, or holds nulls where every event has a value.
        """
        import pyarrow as pa

        schema = log_schema(all(name in table.column_names for name in CONVERSION_DTYPES))
        schema = pa.schema([field for field in schema if not field.name.startswith("slate_")])
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
        return with_slate(cls(**columns), _slate_columns(table))


def with_slate(logs: Logs, slate: SlateColumns | None) -> Logs:
    """``logs`` with the per-position columns ``slate`` (none if None)."""
    if slate is None:
        return logs
    return dataclasses.replace(logs, **{f"slate_{name}": getattr(slate, name) for name in SLATE_COLUMN_DTYPES})


def per_position(logs: Logs) -> Logs:
    """Slate logs with each slate impression split into one impression per
    position, in position order (product, click, the logging policy's
    probability of that product at that position, and the true click
    probability), for learners of one product per impression; other logs as
    they are."""
    slate = logs.slate
    if slate is None:
        return logs
    k = slate.slate_size
    impression = logs.impressions
    repeats = np.where(impression, k, 1)
    rows = np.repeat(np.arange(len(logs)), repeats)
    kept = [name for name in logs.column_names if not name.startswith("slate_")]
    expanded = Logs(**{name: getattr(logs, name)[rows] for name in kept})
    position = np.arange(len(rows)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    shown = impression[rows]
    for name, values in (("a", slate.a), ("c", slate.c), ("ps", slate.pscore_item_position),
                         ("click_probability", slate.click_probability)):
        column = getattr(expanded, name)
        column[shown] = values[rows[shown], position[shown]]
    return expanded


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
        # Slate impressions, by row: (slate, clicks, pscore_item_position, pscore_cascade, click_probability).
        self.slates: dict[int, tuple[Any, ...]] = {}
        self.slate_size = 1

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

    def slate_impression(self, time: float, user: int, slate: Any, info: dict[str, Any]) -> None:
        """The ranking ``slate`` (a :class:`~recogym.session.SlateAction`)
        shown to ``user`` at ``time``, with the env's ``info`` of its step."""
        clicks = np.asarray(info["slate_clicks"])
        k = len(clicks)
        self.slate_size = k
        nan = np.full(k, np.nan)
        item_position = nan if slate.pscore_item_position is None else slate.pscore_item_position
        cascade = nan if slate.pscore_cascade is None else slate.pscore_cascade
        self.slates[len(self.rows)] = (np.asarray(slate.a), clicks, item_position, cascade,
                                       np.asarray(info["slate_click_probability"]))
        self.rows.append((time, user, EventKind.BANDIT, -1, int(slate.a[0]), int(clicks.max()), slate.ps,
                          float(info["click_probability"])))
        self.ps_all.append(())
        if self.conversions is not None:
            self.conversions.append((-1, np.nan))

    def build(self) -> Logs:
        logs = logs_from_rows(self.rows)
        if self.slates:
            slate = SlateColumns.empty(len(logs), self.slate_size)
            for row, values in self.slates.items():
                for name, value in zip(SLATE_COLUMN_DTYPES, values):
                    getattr(slate, name)[row] = value
            logs = with_slate(logs, slate)
        if self.conversions is None:
            return logs
        conversion = np.array([row[0] for row in self.conversions], dtype=np.int8)
        probability = np.array([row[1] for row in self.conversions], dtype=np.float64)
        return dataclasses.replace(logs, conversion=conversion, conversion_probability=probability)


def log_schema(conversions: bool = False, slate_size: int = 1) -> pa.Schema:
    """The Arrow schema of logs. ``z`` reads as a pandas categorical; ``v``
    is null on impressions, and ``a``, ``c``, ``ps`` and
    ``click_probability`` on organic views. With ``conversions``, the
    columns ``conversion`` (int8) and ``conversion_probability`` follow,
    null on organic views; with ``slate_size`` k > 1, the per-position
    columns (:func:`slate_schema_fields`)."""
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
        *(slate_schema_fields(slate_size) if slate_size > 1 else []),
    ])


def slate_schema_fields(slate_size: int) -> list[pa.Field]:
    """The per-position columns of slate logs: ``slate_a``, ``slate_c``,
    ``slate_pscore_item_position``, ``slate_pscore_cascade`` and
    ``slate_click_probability``, fixed-size lists of ``slate_size`` values
    (the fields of :class:`SlateColumns`), null on organic views."""
    import pyarrow as pa

    types = {np.int32: pa.int32(), np.int8: pa.int8(), np.float64: pa.float64()}
    return [pa.field(f"slate_{name}", pa.list_(pa.field("element", types[dtype], nullable=False), slate_size))
            for name, dtype in SLATE_COLUMN_DTYPES.items()]


def _slate_arrays(slate: SlateColumns, organic: np.ndarray) -> list[pa.Array]:
    import pyarrow as pa

    k = slate.slate_size
    mask = pa.array(organic, pa.bool_())
    fields = {field.name: field.type for field in slate_schema_fields(k)}
    return [pa.FixedSizeListArray.from_arrays(pa.array(getattr(slate, name).ravel(),
                                                       fields[f"slate_{name}"].value_type), k, mask=mask)
            for name in SLATE_COLUMN_DTYPES]


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


def _slate_columns(table: pa.Table) -> SlateColumns | None:
    """The per-position columns of a table, if it has them (all of them)."""
    import pyarrow as pa

    names = [f"slate_{name}" for name in SLATE_COLUMN_DTYPES]
    present = [name for name in names if name in table.column_names]
    if not present:
        return None
    if len(present) != len(names):
        raise ValueError(f"table has the slate columns {present} but lacks {sorted(set(names) - set(present))}")
    first = table[names[0]].type
    if not pa.types.is_fixed_size_list(first):
        raise TypeError(f"column 'slate_a' must be a fixed-size list (one value per position), got {first}")
    k = first.list_size
    columns = {}
    for (name, dtype), field in zip(SLATE_COLUMN_DTYPES.items(), slate_schema_fields(k)):
        array = table[field.name].combine_chunks()
        if not (pa.types.is_fixed_size_list(array.type) and array.type.list_size == k):
            raise TypeError(f"column {field.name!r} must hold {field.type} values, got {array.type}")
        lists_null = array.is_null().to_numpy(zero_copy_only=False)
        values = array.values.slice(array.offset * k, len(array) * k)
        try:
            values = values.cast(field.type.value_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise TypeError(f"column {field.name!r} must hold {field.type} values, got {array.type}: "
                            f"{error}") from error
        inner_null = values.is_null().to_numpy(zero_copy_only=False).reshape(len(array), k)
        if inner_null[~lists_null].any():
            raise ValueError(f"column {field.name!r} holds nulls inside its lists")
        matrix = np.array(values.fill_null(SLATE_MISSING[name]).to_numpy(zero_copy_only=False),
                          dtype=dtype).reshape(len(array), k)
        matrix[lists_null] = SLATE_MISSING[name]
        columns[name] = matrix
    return SlateColumns(**columns)
