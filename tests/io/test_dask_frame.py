"""recogym.dask.simulate: a lazy frame, one partition per user range, on a
LocalCluster, whose rows are env.simulate's and whose to_parquet dataset
read_logs accepts."""
import os
import subprocess
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import recogym.dask  # noqa: E402  (after the skip: it imports dask)
from recogym.parquet import read_logs  # noqa: E402

COLUMNS = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
POLICY = np.arange(1, 11) / 55.0
USERS, ORGANIC_USERS, CHUNK = 40, 6, 7


def assert_same_logs(got, expected):
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def frame_as_logs(frame):
    """A computed frame, sorted by (u, t), as columns in Logs' conventions."""
    frame = frame.sort_values(["u", "t"], kind="stable")
    columns = {"t": frame["t"].to_numpy(), "u": frame["u"].to_numpy(), "z": frame["z"].cat.codes.to_numpy(),
               "ps": frame["ps"].to_numpy(), "click_probability": frame["click_probability"].to_numpy()}
    for name in ("v", "a", "c"):
        columns[name] = frame[name].fillna(-1).to_numpy()
    return type("Columns", (), columns)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def lazy_logs(**options):
    return recogym.dask.simulate({"random_seed": 12}, USERS, num_organic_users=ORGANIC_USERS, policy=POLICY,
                                 chunk_users=CHUNK, **options)


def test_a_partition_per_user_range_identical_to_simulate(client, make_env):
    frame = lazy_logs()
    assert frame.npartitions == -(-(USERS + ORGANIC_USERS) // CHUNK)
    computed = client.compute(frame).result()
    expected = make_env(random_seed=12).simulate(USERS, num_organic_users=ORGANIC_USERS, policy=POLICY)
    assert_same_logs(frame_as_logs(computed), expected)
    assert str(computed["v"].dtype) == "Int32" and str(computed["z"].dtype) == "category"


def test_to_parquet_gives_a_dataset_read_logs_accepts(client, make_env, tmp_path):
    directory = tmp_path / "logs"
    lazy_logs().to_parquet(str(directory), write_index=False, write_metadata_file=True,
                           compute_kwargs={"scheduler": client})
    logs, metadata = read_logs(directory)
    expected = make_env(random_seed=12).simulate(USERS, num_organic_users=ORGANIC_USERS, policy=POLICY)
    assert_same_logs(logs, expected)
    assert (metadata["random_seed"], metadata["chunk_users"]) == (12, CHUNK)
    os.remove(directory / "_common_metadata")
    with pytest.raises(ValueError, match="not committed.*write_metadata_file=True"):
        read_logs(directory)


def test_legacy_cannot_be_partitioned():
    with pytest.raises(ValueError, match="legacy"):
        recogym.dask.simulate({"rng": "legacy"}, 5)


def test_import_recogym_does_not_import_dask():
    code = "import sys, recogym; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
