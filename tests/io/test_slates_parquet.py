"""Slate logs in Parquet files: the per-position columns as fixed-size lists."""
import numpy as np
import pytest

pytest.importorskip("pyarrow", reason="Parquet files need pyarrow")

from recogym.io.parquet import (
    check_slates_writable,
    read_logs,
    simulation_kwargs,
    write_dataset,
    write_logs,
    writes_null_fixed_size_lists,
)
from recogym.logs import SLATE_COLUMN_DTYPES, Logs
from recogym.policies import UserPopularityRanking
from recogym.sim.parallel import simulate_parallel

#: The tests that write slate files need a pyarrow whose Parquet writer takes
#: null fixed-size lists (pyarrow 21, the last for numpy 1, refuses them).
writable = pytest.mark.skipif(not writes_null_fixed_size_lists(),
                              reason="this pyarrow's Parquet writer refuses null fixed-size lists (pyarrow 21 does)")

ARGS = {"num_products": 9, "slate_size": 3, "click_model": "cascade", "cascade_continuation": 0.9, "random_seed": 4}


def assert_same(logs, expected):
    for name in ("t", "u", "z", "v", "a", "c", "ps", "click_probability"):
        np.testing.assert_array_equal(getattr(logs, name), getattr(expected, name), err_msg=name)
    for name in SLATE_COLUMN_DTYPES:
        np.testing.assert_array_equal(getattr(logs.slate, name), getattr(expected.slate, name), err_msg=name)
        assert getattr(logs.slate, name).dtype == getattr(expected.slate, name).dtype


@writable
@pytest.mark.parametrize("policy", [None, UserPopularityRanking(0.2)])
def test_slate_logs_round_trip(tmp_path, policy):
    import pyarrow.parquet as pq

    path = tmp_path / "slates.parquet"
    write_logs(path, ARGS, 40, policy=policy, chunk_users=9)
    logs, metadata = read_logs(path)
    expected = simulate_parallel(ARGS, 40, policy=policy)
    assert_same(logs, expected)
    schema = pq.read_schema(path)
    assert str(schema.field("slate_a").type) == "fixed_size_list<element: int32 not null>[3]"
    again = simulate_parallel(**simulation_kwargs(metadata))
    assert_same(again, logs)
    assert metadata["env_args"]["slate_size"] == 3


@writable
def test_slate_dataset_round_trip(tmp_path):
    write_dataset(tmp_path / "data", ARGS, 30, chunk_users=8)
    logs, _ = read_logs(tmp_path / "data")
    assert_same(logs, simulate_parallel(ARGS, 30))


def test_arrow_round_trip_keeps_nulls_on_views():
    logs = simulate_parallel(ARGS, 5)
    table = logs.to_arrow()
    assert table["slate_a"].null_count == int(logs.organic.sum())
    assert_same(Logs.from_arrow(table), logs)


def test_one_product_files_have_no_slate_columns(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "plain.parquet"
    write_logs(path, {"num_products": 9}, 5)
    assert not any(name.startswith("slate_") for name in pq.read_schema(path).names)
    logs, _ = read_logs(path)
    assert logs.slate is None


@writable
def test_a_damaged_slate_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "slates.parquet"
    write_logs(path, ARGS, 5)
    table = pq.read_table(path)
    slates = table["slate_a"].combine_chunks()
    values = slates.values.fill_null(0).to_numpy().copy()
    row = int(np.flatnonzero(~slates.is_null().to_numpy(zero_copy_only=False))[0])
    values[3 * row + 1] = values[3 * row]            # a repeated product
    damaged = pa.FixedSizeListArray.from_arrays(pa.array(values, pa.int32()), 3, mask=slates.is_null())
    table = table.set_column(table.schema.get_field_index("slate_a"), pa.field("slate_a", damaged.type), damaged)
    pq.write_table(table, path)
    with pytest.raises(ValueError, match="slate_a.*distinct"):
        read_logs(path)


def test_a_pyarrow_that_cannot_write_slates_is_refused_before_any_work(tmp_path, monkeypatch):
    import recogym.io.parquet as parquet

    monkeypatch.setattr(parquet, "writes_null_fixed_size_lists", lambda: False)
    for write in (write_logs, write_dataset):
        with pytest.raises(RuntimeError, match="slate logs.*pyarrow"):
            write(tmp_path / "slates", ARGS, 5)
        assert not (tmp_path / "slates").exists()
    with pytest.raises(RuntimeError, match=r"pyarrow \d"):
        check_slates_writable()
    write_logs(tmp_path / "plain.parquet", {"random_seed": 1}, 3)   # logs without slates still write
