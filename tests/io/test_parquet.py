"""Parquet log files: exact round trips, metadata that regenerates the logs,
bounded row groups, and no file at all unless it is complete."""
import concurrent.futures
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recogym
import recogym.parquet
import recogym.sim.parallel as parallel
from recogym.parallel import simulate_parallel
from recogym.parquet import (
    LOG_SCHEMA,
    METADATA_KEY,
    logs_from_arrow,
    logs_to_arrow,
    read_log_metadata,
    read_logs,
    simulation_kwargs,
    write_logs,
)
from recogym.policies import UserPopularity

COLUMNS = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
POLICY = np.arange(1, 11) / 55.0
USERS, ORGANIC_USERS = 40, 6


def assert_same_logs(got, expected):
    for name in COLUMNS:
        assert getattr(got, name).dtype == getattr(expected, name).dtype, name
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "logs.parquet"


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_round_trip_and_metadata(make_env, path, model):
    args = {"random_seed": 31, "time_generator": "normal", "normal_time_sigma": 2.0}
    assert write_logs(path, args, USERS, model=model, num_organic_users=ORGANIC_USERS, policy=POLICY,
                      chunk_users=7) == path
    logs, metadata = read_logs(path)
    env = make_env(model, **args)
    assert_same_logs(logs, env.simulate(USERS, num_organic_users=ORGANIC_USERS, policy=POLICY))
    assert metadata == read_log_metadata(path)
    assert metadata["model"] == model
    assert metadata["env_args"] == dict(env.config)
    assert (metadata["num_users"], metadata["num_organic_users"]) == (USERS, ORGANIC_USERS)
    assert metadata["policy"] == POLICY.tolist()
    assert (metadata["random_seed"], metadata["rng"]) == (31, "default")
    assert metadata["recogym_version"] == recogym.__version__
    assert_same_logs(simulate_parallel(**simulation_kwargs(metadata)), logs)


@pytest.mark.parametrize("rng, policy", [("default", None), ("default", UserPopularity(0.2)),
                                         ("legacy", POLICY)])
def test_regenerate_from_metadata(tmp_path, path, rng, policy):
    write_logs(path, {"random_seed": 5, "rng": rng}, 25, num_organic_users=3, policy=policy, chunk_users=4)
    logs, metadata = read_logs(path)
    again = write_logs(tmp_path / "again.parquet", **simulation_kwargs(metadata))
    assert_same_logs(read_logs(again)[0], logs)
    assert read_log_metadata(again) == metadata


def test_pandas_and_pyarrow_read_the_file(path):
    write_logs(path, {"random_seed": 2}, USERS, num_organic_users=ORGANIC_USERS, chunk_users=9)
    logs, _ = read_logs(path)
    expected = logs.to_pandas()
    table = pq.read_table(path)
    assert table.schema.equals(LOG_SCHEMA)
    assert table.num_rows == len(logs)
    frame = pd.read_parquet(path)
    assert list(frame.columns) == list(COLUMNS)
    pd.testing.assert_series_equal(frame["z"], expected["z"])
    nullable = pd.read_parquet(path, dtype_backend="numpy_nullable")
    pd.testing.assert_frame_equal(nullable[["u", "v", "a", "c"]], expected[["u", "v", "a", "c"]],
                                  check_dtype=False)
    assert str(nullable["v"].dtype) == "Int32" and str(nullable["c"].dtype) == "Int8"
    assert nullable["ps"].isna().sum() == (logs.z == 0).sum()


def test_row_groups_are_bounded(path):
    write_logs(path, {}, USERS, chunk_users=7, row_group_rows=500)
    metadata = pq.ParquetFile(path).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert max(sizes) <= 500 and min(sizes) > 0
    assert sum(sizes) == metadata.num_rows == len(read_logs(path)[0])


def test_a_chunk_is_one_row_group_by_default(path):
    write_logs(path, {}, USERS, chunk_users=7)
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-USERS // 7)


def test_workers_do_not_change_the_file(tmp_path):
    one = write_logs(tmp_path / "one.parquet", {"random_seed": 8}, USERS, num_organic_users=ORGANIC_USERS,
                     chunk_users=5)
    two = write_logs(tmp_path / "two.parquet", {"random_seed": 8}, USERS, num_organic_users=ORGANIC_USERS,
                     chunk_users=5, workers=2)
    assert_same_logs(read_logs(two)[0], read_logs(one)[0])
    assert one.read_bytes() == two.read_bytes()


def interrupt_second_simulate(monkeypatch, exception):
    """The second chunk's simulation raises ``exception``."""
    simulate, calls = parallel.simulate_logs, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise exception
        return simulate(*args, **kwargs)

    monkeypatch.setattr(parallel, "simulate_logs", failing)


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), MemoryError()])
def test_an_interrupted_write_leaves_the_old_file(monkeypatch, path, exception):
    path.write_bytes(b"the previous logs")
    interrupt_second_simulate(monkeypatch, exception)
    with pytest.raises(type(exception)):
        write_logs(path, {}, USERS, chunk_users=7)
    assert path.read_bytes() == b"the previous logs"
    assert os.listdir(path.parent) == [path.name]


def test_a_failed_write_stops_the_pool(monkeypatch, path):
    to_arrow, calls = recogym.parquet.logs_to_arrow, []

    def failing(logs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return to_arrow(logs)

    monkeypatch.setattr(recogym.parquet, "logs_to_arrow", failing)
    with pytest.raises(OSError, match="No space"):
        write_logs(path, {}, 200, chunk_users=3, workers=2)
    assert os.listdir(path.parent) == []


class SecondChunkFails(concurrent.futures.Executor):
    """Runs chunks here; the second chunk's future fails, as a lost worker's would."""

    def __init__(self):
        self.submitted = 0

    def submit(self, fn, *args, **kwargs):
        self.submitted += 1
        future = concurrent.futures.Future()
        if self.submitted == 2:
            future.set_exception(KeyboardInterrupt())
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_failed_chunk_leaves_no_file(path):
    with pytest.raises(KeyboardInterrupt):
        write_logs(path, {}, USERS, chunk_users=7, executor=SecondChunkFails())
    assert os.listdir(path.parent) == []


@pytest.mark.parametrize("options, error, name", [
    ({"row_group_rows": 0}, ValueError, "row_group_rows"),
    ({"compression": "zip"}, ValueError, "compression"),
    ({"workers": 0}, ValueError, "workers"),
    ({"env_args": {"agent": recogym.agents.RandomAgent(recogym.agents.random_args)}}, ValueError, "agent"),
])
def test_bad_arguments_write_nothing(path, options, error, name):
    arguments = {"env_args": {}, **options}
    with pytest.raises(error, match=name):
        write_logs(path, arguments.pop("env_args"), 5, **arguments)
    assert os.listdir(path.parent) == []


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory"):
        write_logs(tmp_path / "missing" / "logs.parquet", {}, 5)
    with pytest.raises(IsADirectoryError, match="directory"):
        write_logs(tmp_path, {}, 5)
    with pytest.raises(TypeError, match="path"):
        write_logs(3.5, {}, 5)
    assert os.listdir(tmp_path) == []


def test_arrow_table_types_and_nulls(make_env):
    logs = make_env(random_seed=3).simulate(20, num_organic_users=4)
    table = logs_to_arrow(logs)
    assert table.schema.equals(LOG_SCHEMA)
    organic = int((logs.z == 0).sum())
    assert table["v"].null_count == len(logs) - organic
    for name in ("a", "c", "ps", "click_probability"):
        assert table[name].null_count == organic
    assert_same_logs(logs_from_arrow(table), logs)
    assert_same_logs(logs_from_arrow(table.slice(0, 0)), make_env().simulate(0))


def test_logs_from_arrow_decodes_any_dictionary_order(make_env):
    logs = make_env(random_seed=3).simulate(5)
    z = pa.DictionaryArray.from_arrays(pa.array(1 - logs.z, pa.int8()), pa.array(["bandit", "organic"]))
    table = logs_to_arrow(logs).set_column(2, "z", z)
    np.testing.assert_array_equal(logs_from_arrow(table).z, logs.z)


def test_logs_from_arrow_errors(make_env):
    table = logs_to_arrow(make_env().simulate(5))
    with pytest.raises(ValueError, match="click_probability"):
        logs_from_arrow(table.drop_columns(["click_probability"]))
    with pytest.raises(TypeError, match="'z'"):
        logs_from_arrow(table.set_column(2, "z", table["z"].cast(pa.string())))
    with pytest.raises(TypeError, match="'u'"):
        logs_from_arrow(table.set_column(1, "u", pa.array(["x"] * table.num_rows)))
    with pytest.raises(ValueError, match="'t'.*null"):
        logs_from_arrow(table.set_column(0, "t", pa.nulls(table.num_rows, pa.float64())))


def test_read_logs_needs_recogym_metadata(make_env, path):
    pq.write_table(logs_to_arrow(make_env().simulate(5)), path)
    with pytest.raises(ValueError, match=METADATA_KEY.decode()):
        read_logs(path)
