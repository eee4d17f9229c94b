"""Grids of ``test_agent`` runs: env configs x agents x training sizes x seeds,
run anywhere, checkpointed cell by cell, gathered in one tidy DataFrame.

Every cell trains and tests a fresh copy of its agent on a fresh env, so
cells are independent: they run in any order, on any
``concurrent.futures.Executor``, and an interrupted sweep resumes from the
cells its checkpoint holds.
"""
from __future__ import annotations

import collections
import concurrent.futures
import copy
import csv
import dataclasses
import io
import itertools
import math
import os
import secrets
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Union

import pandas as pd

from .._progress import tqdm

from .._checks import check_choice, check_count, check_executor, check_flag, check_positive_int, is_real, seed_limit
from ..envs.classic import ENV_IDS, make
from ..params import OPTIONAL_ARGS, Configuration, defaults_for, resolve_env_args
from ..sim.parallel import TaskFailed, Tasks
from .online import test_agent

__all__ = ["sweep", "RESULT_COLUMNS"]

#: The columns after the env-arg columns, in order.
RESULT_COLUMNS = ("agent", "n_offline", "seed", "clicks", "impressions", "median", "q0.025", "q0.975",
                  "seconds", "error")

_OUTCOME_COLUMNS = RESULT_COLUMNS[3:]
_CHECKPOINT_SUFFIXES = (".csv", ".parquet")

# One cell running and one waiting per worker, as in recogym.parallel: no
# worker idles, and the submitted agents never pile up in memory.
_IN_FLIGHT_PER_WORKER = 2

EnvArgsGrid = Union[Mapping[str, Sequence[Any]], Sequence[Mapping[str, Any]]]
AgentSpec = Any  # an agent, or an (agent class, args) pair built in the worker
CellKey = tuple[Any, ...]
Outcome = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class _Cell:
    """One ``test_agent`` run and the values of its row."""

    key: CellKey
    row: dict[str, Any]
    config: Configuration
    agent: str


def sweep(
    env_args_grid: EnvArgsGrid,
    agents: Mapping[str, AgentSpec],
    offline_users: Sequence[int],
    online_users: int,
    seeds: Sequence[int],
    *,
    model: str = "reco-gym-v1",
    executor: concurrent.futures.Executor | None = None,
    workers: int = 1,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Run ``test_agent`` on every env config x agent x training size x seed.

    Each cell runs ``recogym.test_agent(env, agent, n_offline, online_users)``
    on a fresh env initialised with its config and ``random_seed=seed``, and
    a fresh copy of its agent, so cells do not depend on each other or on the
    order they run in.

    Parameters
    ----------
    env_args_grid : dict or list of dict
        Either env-arg names mapped to lists of values,
        whose cartesian product gives the configs (``{}`` is the model's
        defaults alone), or a list of env-arg dicts, one per config. Missing
        args take the model's defaults. ``random_seed`` is set by ``seeds``.
    agents : dict
        Names mapped to agents (picklable, to run on other processes) or to
        ``(agent class, args dict)`` pairs, which are built in the worker,
        for agents that are costly to pickle.
    offline_users : list of int
        Training sizes: each cell trains on this many logging-policy users.
    online_users : int
        Users each trained agent is tested on.
    seeds : list of int
        The env's ``random_seed`` in each cell: replicate runs.
    model : {'reco-gym-v1', 'reco-gym-v0'}
    executor : concurrent.futures.Executor, optional
        Where to run the cells, such as ``distributed.Client(address)
        .get_executor()``; its workers must be able to import recogym and
        unpickle the agents.
    workers : int
        Without ``executor``: 1 runs the cells here, more on a new
        ``ProcessPoolExecutor(workers)``. With it: how many cells it runs at
        once; at most ``2 * workers`` are submitted and not yet finished.
    checkpoint : str or os.PathLike, optional
        A ``.csv`` or ``.parquet`` file that holds every finished cell. It is
        rewritten as each cell finishes, through a temporary file renamed
        onto it, so an interruption leaves the last complete version.
    resume : bool
        Continue the sweep in ``checkpoint``: its cells that finished without
        error are not run again (failed ones are, in case the failure was
        transient); its rows outside this grid are kept in the file.
    progress : bool
        Show one tqdm bar for the sweep, in cells, with the cells done,
        failed and remaining, advanced as each cell finishes wherever it
        runs (on a terminal only).

    Returns
    -------
    pandas.DataFrame
        One row per cell, in grid order: one column per env arg whose value
        differs between configs (the resolved value, defaults included), then
        ``agent``, ``n_offline``, ``seed``, ``clicks``, ``impressions``, the
        CTR's ``median``, ``q0.025`` and ``q0.975`` (as ``test_agent``
        reports them), ``seconds`` and ``error``: None, or the traceback of a
        cell that raised, whose other outcome columns are then missing.

    Raises
    ------
    ValueError, TypeError
        For an argument outside its allowed values, naming it; before any
        cell runs.
    FileExistsError
        If ``checkpoint`` exists and ``resume`` is False: it is not
        overwritten.

    Notes
    -----
    A cell's env arguments are validated once, here; a cell that fails anyway
    (an agent that raises, a worker that dies) gets its traceback in
    ``error`` while the others complete. Keys are compared as text, with
    numbers as floats, so they survive a round trip through CSV.

    The default pool starts processes with the platform's start method; where
    that is spawn (macOS, Windows), call this under
    ``if __name__ == '__main__':``.

    Examples
    --------
    0.1.3.0's ``gather_agent_stats`` (CTR against the number of training
    users, for :func:`recogym.plots.plot_ctr_vs_training`):

    >>> from recogym.agents import OrganicCount, RandomAgent, organic_count_args, random_args
    >>> results = sweep({'num_products': [10]},
    ...                 {'random': (RandomAgent, random_args),
    ...                  'organic count': (OrganicCount, organic_count_args)},
    ...                 offline_users=[100, 1000, 10000], online_users=1000,
    ...                 seeds=[1, 2, 3], workers=2,
    ...                 checkpoint='stats.csv', resume=True)  # doctest: +SKIP

    On a Dask cluster, pass its executor, and say how many cells run at once:

    >>> from distributed import Client
    >>> client = Client(address)  # doctest: +SKIP
    >>> results = sweep(grid, agents, [1000], 10_000, range(10), executor=client.get_executor(),
    ...                 workers=sum(client.nthreads().values()))  # doctest: +SKIP
    """
    check_choice("model", model, ENV_IDS)
    configs = _expand_grid(env_args_grid, model)
    _check_agents(agents)
    offline_users = _check_counts("offline_users", offline_users)
    online_users = check_positive_int("online_users", online_users)
    seeds = _check_counts("seeds", seeds)
    workers = check_positive_int("workers", workers)
    check_executor(executor)
    progress = check_flag("progress", progress)
    for config in configs:
        limit = seed_limit(config.rng)
        if max(seeds) >= limit:
            raise ValueError(f"seeds must be below {limit} for rng={config.rng!r}, got {max(seeds)}")
    varying = _varying_args(configs)
    columns = [*varying, *RESULT_COLUMNS]
    cells = list(_cells(configs, varying, agents, offline_users, seeds))
    if len({cell.key for cell in cells}) < len(cells):
        raise ValueError("env_args_grid, offline_users and seeds must not repeat a cell: two cells have "
                         "the same env args, agent, n_offline and seed")
    store = _Checkpoint.open(checkpoint, resume, columns)
    outcomes = store.finished()
    todo = [cell for cell in cells if cell.key not in outcomes]
    done = failed = 0
    with tqdm(total=len(cells), initial=len(cells) - len(todo), desc="Cells", unit="cells",
              disable=None if progress else True) as bar:
        for cell, outcome in _run(todo, model, agents, online_users, executor, workers):
            outcomes[cell.key] = outcome
            store.save({**cell.row, **outcome})
            done, failed = done + (outcome["error"] is None), failed + (outcome["error"] is not None)
            bar.set_postfix(done=len(cells) - len(todo) + done, failed=failed,
                            remaining=len(todo) - done - failed, refresh=False)
            bar.update(1)
    results = pd.DataFrame([{**cell.row, **outcomes[cell.key]} for cell in cells], columns=columns)
    return _with_dtypes(results)


def _expand_grid(env_args_grid: Any, model: str) -> list[Configuration]:
    """Each config of the grid, resolved and validated (it warns once here
    about unknown args, which are then dropped so that cells do not warn)."""
    if isinstance(env_args_grid, Mapping):
        for name, values in env_args_grid.items():
            if not isinstance(name, str):
                raise TypeError(f"env_args_grid must be keyed by env-arg name (str), got key {name!r}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise TypeError(f"env_args_grid[{name!r}] must be a non-empty list of values, got {values!r}")
        names = list(env_args_grid)
        configs = [dict(zip(names, values)) for values in itertools.product(*env_args_grid.values())]
    elif isinstance(env_args_grid, Sequence) and not isinstance(env_args_grid, (str, bytes)):
        if not env_args_grid or not all(isinstance(config, Mapping) for config in env_args_grid):
            raise TypeError(f"env_args_grid as a list must hold at least one env-arg dict, got {env_args_grid!r}")
        configs = [dict(config) for config in env_args_grid]
    else:
        raise TypeError(f"env_args_grid must be a dict of lists of values or a list of env-arg dicts, "
                        f"got {type(env_args_grid).__name__}")
    if any("random_seed" in config for config in configs):
        raise ValueError("env_args_grid must not set 'random_seed': seeds sets it in each cell")
    known = set(defaults_for(model)) | set(OPTIONAL_ARGS)
    resolved = (resolve_env_args(model, config) for config in configs)
    return [Configuration({name: value for name, value in config.items() if name in known})
            for config in resolved]


def _varying_args(configs: list[Configuration]) -> list[str]:
    """The env args whose value is not the same in every config."""
    names = dict.fromkeys(name for config in configs for name in config)
    varying = [name for name in names if len({_key_value(config.get(name)) for config in configs}) > 1]
    clashing = [name for name in varying if name in RESULT_COLUMNS]
    if clashing:
        raise ValueError(f"env_args_grid cannot vary {clashing}: the result has columns of those names")
    return varying


def _cells(configs: list[Configuration], varying: list[str], agents: Mapping[str, AgentSpec],
           offline_users: list[int], seeds: list[int]) -> Iterator[_Cell]:
    """The cells in grid order: config, then agent, then n_offline, then seed."""
    for config in configs:
        for name in agents:
            for n_offline in offline_users:
                for seed in seeds:
                    row = {**{arg: config.get(arg) for arg in varying}, "agent": name, "n_offline": n_offline,
                           "seed": seed}
                    yield _Cell(_key(row), row, Configuration({**config, "random_seed": seed}), name)


def _check_agents(agents: Any) -> None:
    if not isinstance(agents, Mapping) or not agents:
        raise TypeError(f"agents must be a non-empty dict of names and agents, got {agents!r}")
    for name, agent in agents.items():
        if not isinstance(name, str):
            raise TypeError(f"agents must be keyed by name (str), got key {name!r}")
        if _is_class_and_args(agent):
            continue
        if not callable(getattr(agent, "act_batch", None)) and not callable(getattr(agent, "act", None)):
            raise TypeError(f"agents[{name!r}] must be an agent with act() or act_batch(), or an "
                            f"(agent class, args dict) pair, got {agent!r}")


def _check_counts(name: str, values: Any) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty list of non-negative integers, got {values!r}")
    return [check_count(f"{name}[{k}]", value) for k, value in enumerate(values)]


def _is_class_and_args(agent: Any) -> bool:
    return (isinstance(agent, tuple) and len(agent) == 2 and isinstance(agent[0], type)
            and isinstance(agent[1], Mapping))


def _key_value(value: Any) -> str:
    """A config value as text that survives CSV: numbers as floats, so that
    ``10`` read back as ``10`` or as ``10.0`` is the same key."""
    if is_real(value):
        return repr(float(value))
    return str(value)


def _key(row: Mapping[str, Any]) -> CellKey:
    """Config values, agent, n_offline and seed: what identifies a cell."""
    config = tuple(_key_value(value) for name, value in row.items() if name not in RESULT_COLUMNS)
    return (*config, str(row["agent"]), int(row["n_offline"]), int(row["seed"]))


def _run(cells: list[_Cell], model: str, agents: Mapping[str, AgentSpec], online_users: int,
         executor: concurrent.futures.Executor | None, workers: int) -> Iterator[tuple[_Cell, Outcome]]:
    """Each cell with its outcome, as it finishes."""
    if executor is None and workers == 1:
        for cell in cells:
            yield cell, _run_cell(model, cell.config, agents[cell.agent], cell.row["n_offline"], online_users)
        return
    tasks = Tasks(executor, workers)
    waiting = collections.deque(enumerate(cells))
    try:
        while waiting or len(tasks):
            while waiting and len(tasks) < workers * _IN_FLIGHT_PER_WORKER:
                index, cell = waiting.popleft()
                tasks.submit(index, _run_cell, model, cell.config, agents[cell.agent], cell.row["n_offline"],
                             online_users)
            try:
                index, outcome = tasks.next_done()
            except TaskFailed as failure:
                index, outcome = failure.index, _failure(_lost_cell(failure), float("nan"))
            yield cells[index], outcome
    finally:
        tasks.close()


def _lost_cell(failure: TaskFailed) -> str:
    """The error of a cell the executor lost twice (its worker died, or it
    did not pickle), with the cause's traceback."""
    cause = "".join(traceback.format_exception(failure.cause))
    return f"the cell failed twice outside test_agent (retried once, alone): {cause}"


def _run_cell(model: str, config: Configuration, agent: AgentSpec, n_offline: int, online_users: int) -> Outcome:
    """One cell on a fresh env: the task an executor runs (at module level,
    so that it pickles by name). An exception becomes the cell's error."""
    start = time.perf_counter()
    try:
        env = make(model)
        env.init_gym(config)
        built = agent[0](agent[1]) if _is_class_and_args(agent) else copy.deepcopy(agent)
        if env.slate_size > 1:
            # A grid over slate_size: each cell's agent ranks for its env.
            from ..agents.base import ranking_for

            built = ranking_for(built, env.slate_size)
        result = test_agent(env, built, n_offline, online_users)
    except Exception:
        return _failure(traceback.format_exc(), time.perf_counter() - start)
    median, low, high = result
    return {"clicks": result.clicks, "impressions": result.impressions, "median": median, "q0.025": low,
            "q0.975": high, "seconds": result.seconds, "error": None}



def _failure(error: str, seconds: float) -> Outcome:
    nan = float("nan")
    return {"clicks": None, "impressions": None, "median": nan, "q0.025": nan, "q0.975": nan,
            "seconds": seconds, "error": error}


def _with_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Clicks and impressions as nullable integers, since a failed cell has
    none; errors as objects, None where there is none, whether or not some
    cell failed."""
    frame = frame.astype({"clicks": "Int64", "impressions": "Int64"})
    errors = [None if pd.isna(error) else error for error in frame["error"]]
    frame["error"] = pd.Series(errors, index=frame.index, dtype=object)
    return frame


def _read_checkpoint(target: str, columns: list[str]) -> pd.DataFrame:
    """The rows of a checkpoint, without a record cut short.

    Checkpoints are replaced whole, atomically, so damage comes from outside
    (a truncated copy, a full disk under another tool): a CSV whose last
    record lacks its newline or has too few fields loses that record, which
    :func:`sweep` runs again; an unreadable file is refused.

    Raises
    ------
    ValueError
        If the file cannot be read at all, saying what to do.
    """
    advice = ("remove it to run the sweep from the start, or restore an intact copy; recogym replaces "
              "checkpoints atomically, so it was damaged by something else")
    if target.endswith(".parquet"):
        try:
            return pd.read_parquet(target)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise ValueError(f"checkpoint {target!r} is unreadable ({type(error).__name__}: {error}); "
                             f"{advice}") from error
    with open(target, newline="", encoding="utf-8") as file:
        text = file.read()
    records = list(csv.reader(io.StringIO(text)))
    if not records:
        raise ValueError(f"checkpoint {target!r} is empty; {advice}")
    if not text.endswith("\n"):  # to_csv ends every record with one
        records.pop()
    header, width = records[0], len(records[0])
    intact = [header] + [record for record in records[1:] if len(record) == width]
    dropped = len(records) - len(intact) + (not text.endswith("\n"))
    if dropped:
        warnings.warn(f"checkpoint {target!r}: {dropped} record(s) cut short are dropped; their cells run again",
                      UserWarning, stacklevel=4)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(intact)
    buffer.seek(0)
    return pd.read_csv(buffer)


def _damage(row: Mapping[str, Any]) -> str | None:
    """What makes a checkpoint row unusable as a finished cell, or None.

    A failed cell (an error) is run again anyway; a finished one must hold
    a whole, consistent outcome."""
    if row["agent"] is None or not _is_count(row["n_offline"]) or not _is_count(row["seed"]):
        return "its agent, n_offline or seed is missing or not a non-negative integer"
    if row["error"] is not None:
        return None
    if not (_is_count(row["clicks"]) and _is_count(row["impressions"]) and row["clicks"] <= row["impressions"]):
        return "clicks and impressions must be counts with clicks <= impressions"
    bounds = [row[name] for name in ("q0.025", "median", "q0.975")]
    if not all(is_real(value) and 0.0 <= value <= 1.0 for value in bounds) or sorted(bounds) != bounds:
        return "median, q0.025 and q0.975 must be probabilities with q0.025 <= median <= q0.975"
    if not (is_real(row["seconds"]) and math.isfinite(row["seconds"]) and row["seconds"] >= 0):
        return "seconds must be a finite time >= 0"
    return None


def _is_count(value: Any) -> bool:
    return is_real(value) and math.isfinite(value) and value >= 0 and float(value).is_integer()


class _Checkpoint:
    """The finished cells of a sweep, in a file replaced atomically each time
    a cell finishes (or nowhere, without a path)."""

    def __init__(self, path: str | None, columns: list[str], rows: list[dict[str, Any]]) -> None:
        self.path = path
        self.columns = columns
        self.rows = {_key(row): row for row in rows}

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None, resume: Any, columns: list[str]) -> _Checkpoint:
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be True or False, got {resume!r}")
        if path is None:
            if resume:
                raise ValueError("resume=True needs the checkpoint to resume from")
            return cls(None, columns, [])
        try:
            target = os.path.abspath(os.fspath(path))
        except TypeError:
            raise TypeError(f"checkpoint must be a str or os.PathLike, got {path!r}") from None
        if not target.endswith(_CHECKPOINT_SUFFIXES):
            raise ValueError(f"checkpoint must end in one of {_CHECKPOINT_SUFFIXES}, got {os.fspath(path)!r}")
        if not os.path.isdir(os.path.dirname(target)):
            raise FileNotFoundError(f"the directory of checkpoint {os.fspath(path)!r} does not exist")
        if not os.path.exists(target):
            return cls(target, columns, [])
        if not resume:
            raise FileExistsError(f"checkpoint {os.fspath(path)!r} exists: pass resume=True to continue that "
                                  f"sweep, or remove it")
        frame = _read_checkpoint(target, columns)
        if list(frame.columns) != columns:
            raise ValueError(f"checkpoint {os.fspath(path)!r} holds another sweep: its columns are "
                             f"{list(frame.columns)}, this sweep's are {columns}")
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        kept = []
        for number, record in enumerate(rows):
            row = {str(name): value for name, value in record.items()}
            damage = _damage(row)
            if damage is None:
                kept.append(row)
            else:
                warnings.warn(f"checkpoint {os.fspath(path)!r}: row {number} is damaged ({damage}); its cell "
                              "runs again", UserWarning, stacklevel=3)
        return cls(target, columns, kept)

    def finished(self) -> dict[CellKey, Outcome]:
        """The outcomes of the cells that finished without error."""
        return {key: {name: row[name] for name in _OUTCOME_COLUMNS}
                for key, row in self.rows.items() if row["error"] is None}

    def save(self, row: dict[str, Any]) -> None:
        self.rows[_key(row)] = row
        if self.path is None:
            return
        frame = _with_dtypes(pd.DataFrame(list(self.rows.values()), columns=self.columns))
        directory, name = os.path.split(self.path)
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            with open(temporary, "xb") as sink:
                if self.path.endswith(".parquet"):
                    frame.to_parquet(sink, index=False)
                else:
                    frame.to_csv(sink, index=False)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise
