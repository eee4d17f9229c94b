"""Parquet datasets: a part per chunk written where it was simulated, a
commit at the end, resumes that keep finished parts, readers outside
recogym, and read_logs refusing anything damaged or out of its domain."""
import os
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import recogym.sim.parallel as parallel
from recogym.parquet import COMMIT_FILE, read_log_metadata, read_logs, write_dataset, write_logs

COLUMNS = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
POLICY = np.arange(1, 11) / 55.0
USERS, ORGANIC_USERS, CHUNK = 40, 6, 7
PARTS = -(-(USERS + ORGANIC_USERS) // CHUNK)


def assert_same_logs(got, expected):
    for name in COLUMNS:
        assert getattr(got, name).dtype == getattr(expected, name).dtype, name
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def write(directory, **options):
    arguments = {"num_organic_users": ORGANIC_USERS, "policy": POLICY, "chunk_users": CHUNK, **options}
    return write_dataset(directory, {"random_seed": 23}, USERS, **arguments)


def parts_of(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("part-"))


@pytest.fixture
def dataset(tmp_path):
    return write(tmp_path / "logs", workers=2)


@pytest.mark.parametrize("model", ["reco-gym-v1", "reco-gym-v0"])
def test_round_trip(make_env, tmp_path, model):
    directory = write(tmp_path / "logs", model=model, workers=2)
    logs, metadata = read_logs(directory)
    env = make_env(model, random_seed=23)
    assert_same_logs(logs, env.simulate(USERS, num_organic_users=ORGANIC_USERS, policy=POLICY))
    assert metadata == read_log_metadata(directory)
    assert (metadata["model"], metadata["chunk_users"], metadata["num_users"]) == (model, CHUNK, USERS)
    assert parts_of(directory) == [f"part-{index:06d}.parquet" for index in range(PARTS)]
    assert sorted(os.listdir(directory)) == [COMMIT_FILE] + parts_of(directory)


def test_workers_write_the_same_parts(tmp_path):
    one, two = write(tmp_path / "one"), write(tmp_path / "two", workers=2)
    for name in parts_of(one):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_parts_declare_their_order_and_users(dataset):
    for index, name in enumerate(parts_of(dataset)):
        file = pq.ParquetFile(dataset / name)
        sorting = file.metadata.row_group(0).sorting_columns
        assert [(column.column_index, column.descending) for column in sorting] == [(1, False), (0, False)]
        u = file.read(columns=["u"])["u"].to_numpy()
        assert index * CHUNK <= u.min() and u.max() < (index + 1) * CHUNK


def test_pandas_reads_the_dtypes_of_logs_to_pandas(make_env, dataset):
    frame = pd.read_parquet(dataset)
    env = make_env(random_seed=23)
    expected = env.simulate(3).to_pandas()
    assert frame[list(expected.columns)].dtypes.to_dict() == expected.dtypes.to_dict()
    assert len(frame) == len(read_logs(dataset)[0])
    assert frame["c"].isna().sum() == (frame["z"] == "organic").sum()


def test_other_readers_read_the_dataset(dataset):
    logs, _ = read_logs(dataset)
    import pyarrow.dataset as ds

    table = ds.dataset(dataset, format="parquet").to_table()
    assert table.num_rows == len(logs) and table.column_names == list(COLUMNS)
    np.testing.assert_array_equal(np.sort(table["u"].to_numpy()), logs.u)


def test_dask_reads_the_dataset(dataset):
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.read_parquet(str(dataset)).compute()
    logs, _ = read_logs(dataset)
    np.testing.assert_array_equal(frame["u"].to_numpy(), logs.u)
    assert str(frame["v"].dtype) == "Int32"


def test_polars_reads_the_dataset(dataset):
    pl = pytest.importorskip("polars")
    frame = pl.read_parquet(str(dataset / "part-*.parquet"))
    logs, _ = read_logs(dataset)
    np.testing.assert_array_equal(frame["u"].to_numpy(), logs.u)
    assert frame["v"].null_count() == int(logs.impressions.sum())


def test_duckdb_reads_the_dataset(dataset):
    duckdb = pytest.importorskip("duckdb")
    logs, _ = read_logs(dataset)
    rows, clicks = duckdb.sql(f"select count(*), sum(c) from read_parquet('{dataset}/part-*.parquet')").fetchall()[0]
    assert (rows, clicks) == (len(logs), int(logs.c[logs.impressions].sum()))


def fail_chunk(monkeypatch, number, exception):
    """The ``number``-th chunk simulated in this process raises ``exception``;
    returns the list of calls made."""
    simulate, calls = parallel.simulate_logs, []

    def failing(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == number:
            raise exception
        return simulate(*args, **kwargs)

    monkeypatch.setattr(parallel, "simulate_logs", failing)
    return calls


@pytest.mark.parametrize("rng", ["default", "legacy"])
def test_an_interrupted_run_is_unfinished_and_resumes(monkeypatch, tmp_path, rng):
    directory = tmp_path / "logs"
    fail_chunk(monkeypatch, 3, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        write_dataset(directory, {"random_seed": 23, "rng": rng}, USERS, num_organic_users=ORGANIC_USERS,
                      chunk_users=CHUNK)
    assert sorted(os.listdir(directory)) == ["part-000000.parquet", "part-000001.parquet"]
    with pytest.raises(ValueError, match="not committed.*resume=True"):
        read_logs(directory)
    finished = {name: os.stat(directory / name).st_mtime_ns for name in os.listdir(directory)}
    monkeypatch.undo()
    calls = fail_chunk(monkeypatch, 0, None)
    with pytest.raises(FileExistsError, match="resume=True"):
        write_dataset(directory, {"random_seed": 23, "rng": rng}, USERS, num_organic_users=ORGANIC_USERS,
                      chunk_users=CHUNK)
    write_dataset(directory, {"random_seed": 23, "rng": rng}, USERS, num_organic_users=ORGANIC_USERS,
                  chunk_users=CHUNK, resume=True)
    # The default rng redoes only the unfinished chunks; legacy must replay the stream from the start.
    assert calls[0] == (0 if rng == "legacy" else 2 * CHUNK)
    assert {name: os.stat(directory / name).st_mtime_ns for name in finished} == finished
    fresh = write_dataset(tmp_path / "fresh", {"random_seed": 23, "rng": rng}, USERS,
                          num_organic_users=ORGANIC_USERS, chunk_users=CHUNK)
    assert_same_logs(read_logs(directory)[0], read_logs(fresh)[0])


def test_resume_removes_temporary_files_and_refuses_another_job(tmp_path):
    directory = write(tmp_path / "logs")
    (directory / COMMIT_FILE).unlink()
    (directory / ".part-000002.parquet.0123.tmp").write_bytes(b"half a part")
    with pytest.raises(ValueError, match="random_seed: 23 there, 24 here"):
        write_dataset(directory, {"random_seed": 24}, USERS, num_organic_users=ORGANIC_USERS, policy=POLICY,
                      chunk_users=CHUNK, resume=True)
    assert ".part-000002.parquet.0123.tmp" not in os.listdir(directory)
    write(directory, resume=True)
    assert read_logs(directory)[1]["random_seed"] == 23
    assert write(directory, resume=True) == directory  # committed: left as it is
    with pytest.raises(ValueError, match="another job"):
        write(directory, chunk_users=CHUNK + 1, resume=True)


def test_bad_directories(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="directory"):
        write(tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="parent"):
        write(tmp_path / "missing" / "logs")
    with pytest.raises(TypeError, match="resume"):
        write(tmp_path / "logs", resume="yes")


def test_a_copied_part_is_a_duplicate_user(dataset):
    shutil.copy(dataset / "part-000001.parquet", dataset / "part-000001-copy.parquet")
    with pytest.raises(ValueError, match=r"user 7 appears in both .*part-000001.*column 'u'"):
        read_logs(dataset)


def test_parts_must_agree_on_the_config(tmp_path, dataset):
    other = write_dataset(tmp_path / "other", {"random_seed": 99}, USERS, num_organic_users=ORGANIC_USERS,
                          policy=POLICY, chunk_users=CHUNK)
    shutil.copy(other / "part-000001.parquet", dataset / "part-000001.parquet")
    with pytest.raises(ValueError, match="part-000001.parquet.*random_seed: 99 there, 23 here"):
        read_logs(dataset)


def mutate(source, target, column, mutation):
    """``source``'s table with ``mutation(values)`` applied to ``column``,
    written to ``target`` with the same metadata."""
    table = pq.read_table(source)
    values = table[column].to_numpy(zero_copy_only=False).copy()
    values = mutation(values, table["z"].to_numpy(zero_copy_only=False).astype(str) == "organic")
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    mask = pd.isna(values) if field.nullable else None
    filled = np.where(pd.isna(values), 0, values) if field.nullable else values
    array = pa.array(filled.astype(field.type.to_pandas_dtype()), field.type, mask=mask)
    pq.write_table(table.set_column(index, field, array), target)


def first(rows):
    return int(np.flatnonzero(rows)[0])


def set_at(value, on_organic):
    def mutation(values, organic):
        row = first(organic if on_organic else ~organic)
        values = values.astype(object)
        values[row] = value
        return values
    return mutation


@pytest.mark.parametrize("column, mutation, message", [
    ("v", set_at(10**6, True), r"'v' holds 1000000 .*\[0, 10\)"),
    ("a", set_at(-1, False), r"'a' holds -1 .*\[0, 10\)"),
    ("c", set_at(7, False), r"'c' holds 7 .*0 or 1"),
    ("ps", set_at(5.0, False), r"'ps' holds 5.0 .*\(0, 1\]"),
    ("ps", set_at(0.0, False), r"'ps' holds 0.0 .*\(0, 1\]"),
    ("click_probability", set_at(-0.5, False), r"'click_probability' holds -0.5"),
    ("t", set_at(np.inf, True), r"'t' holds inf"),
    ("u", set_at(USERS + ORGANIC_USERS, True), r"'u' holds 46 .*\[0, 46\)"),
    ("v", set_at(3, False), r"'v' is set at row \d+, an impression \(column 'z'\)"),
    ("ps", set_at(0.5, True), r"'ps' is set at row \d+, an organic view"),
    ("a", set_at(None, False), r"'a' is null at row \d+, an impression"),
])
def test_values_out_of_their_domain_are_refused(tmp_path, column, mutation, message):
    good = write_logs(tmp_path / "good.parquet", {"random_seed": 4}, USERS, num_organic_users=ORGANIC_USERS)
    bad = tmp_path / "bad.parquet"
    mutate(good, bad, column, mutation)
    with pytest.raises(ValueError, match="bad.parquet.*" + message):
        read_logs(bad)


def test_a_flipped_byte_fails_its_page_checksum(tmp_path):
    path = write_logs(tmp_path / "logs.parquet", {"random_seed": 4}, USERS, compression="none")
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(7)  # click_probability: plain, not a dictionary
    data = bytearray(path.read_bytes())
    data[chunk.data_page_offset + chunk.total_compressed_size // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="logs.parquet.*corrupt.*(?i:crc|checksum)"):
        read_logs(path)


def test_an_unreadable_file_is_named(tmp_path):
    path = write_logs(tmp_path / "logs.parquet", {"random_seed": 4}, USERS)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="logs.parquet.*not a readable Parquet file"):
        read_logs(path)


def test_a_resumed_job_bar_starts_from_the_finished_users(monkeypatch, tmp_path):
    import recogym.sim.parallel as parallel

    made = []

    class Bar:
        def __init__(self, total, initial, **options):
            self.total, self.initial, self.position = total, initial, initial
            made.append(self)

        def update(self, n):
            self.position += n

        def close(self):
            pass

    directory = write(tmp_path / "logs")
    (directory / COMMIT_FILE).unlink()
    (directory / "part-000003.parquet").unlink()
    monkeypatch.setattr(parallel, "tqdm", Bar)
    write(directory, resume=True, workers=2, progress=True)
    [bar] = made
    assert (bar.total, bar.initial, bar.position) == (USERS + ORGANIC_USERS, USERS + ORGANIC_USERS - CHUNK,
                                                      USERS + ORGANIC_USERS)
