"""Chunked simulation on a process pool, and logs streamed to Parquet, each
beside a reference timed in the same run.

Every job is reco-gym-v1 with its default arguments (num_products=10,
about 100 events per user) and the uniform logging policy. The million-user
file is written once, in a fresh interpreter, whose peak resident memory is
recorded in ``extra_info`` (and printed with ``-s``) and must stay under 1 GiB.
"""
import json
import subprocess
import sys
import textwrap

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import recogym
from recogym.parallel import simulate_parallel
from recogym.parquet import write_dataset, write_logs

ARGS = {"random_seed": 42}
USERS = 200_000  # about 20 million events: process start-up is a small part of a job this size
BIG_USERS = 1_000_000  # about 100 million events
GIB = 2**30
PARALLEL = "parallel P=10, 200k users"
PARQUET = "parquet P=10, zstd"
DATASET = "dataset P=10, 200k users"
CLUSTER = "dask LocalCluster, 200k users"

# Writes a million users in a fresh interpreter and reports its peak resident
# memory, which nothing else in this session inflates.
PEAK_RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import pyarrow.parquet as pq
    from recogym.parquet import write_logs

    def peak_rss():
        # Linux's ru_maxrss keeps the peak of the process that exec'd this
        # interpreter (pytest, via vfork), so read this image's own VmHWM.
        try:
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
        except FileNotFoundError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS

    path, users = sys.argv[1], int(sys.argv[2])
    write_logs(path, {"random_seed": 42}, users)
    print(json.dumps({"rows": pq.ParquetFile(path).metadata.num_rows, "peak_rss": peak_rss()}))
""")


def rows_in(path):
    return pq.ParquetFile(path).metadata.num_rows


def test_simulate_parallel_two_workers_against_one(throughput):
    def simulate(workers):
        return lambda: simulate_parallel(ARGS, USERS, workers=workers)

    results = throughput.alternating(PARALLEL, [("simulate_parallel workers=1", simulate(1)),
                                                ("simulate_parallel workers=2", simulate(2))], len)
    one, two = results.values()
    assert len(one) == len(two) > 50 * USERS and two.u[-1] == USERS - 1


def test_simulate_to_numpy(throughput):
    env = recogym.make("reco-gym-v1")
    env.init_gym(ARGS)
    logs = throughput(PARQUET, "env.simulate -> numpy, 200k users",
                      lambda: env.simulate(USERS), len, rounds=2, reference=True)
    assert len(logs) > 50 * USERS


def test_write_parquet_one_worker(throughput, tmp_path):
    path = throughput(PARQUET, "write_logs workers=1, 200k users",
                      lambda: write_logs(tmp_path / "logs.parquet", ARGS, USERS), rows_in, rounds=2)
    assert rows_in(path) > 50 * USERS


def test_write_parquet_two_workers(throughput, tmp_path):
    path = throughput(PARQUET, "write_logs workers=2, 200k users",
                      lambda: write_logs(tmp_path / "logs.parquet", ARGS, USERS, workers=2), rows_in,
                      rounds=2)
    assert rows_in(path) > 50 * USERS


def test_write_parquet_million_users_peak_rss(throughput, tmp_path):
    path = tmp_path / "logs.parquet"

    def write_in_subprocess():
        done = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, str(path), str(BIG_USERS)],
                              check=True, capture_output=True, text=True)
        return json.loads(done.stdout)

    report = throughput(PARQUET, "write_logs workers=1, 1M users, subproc",
                        write_in_subprocess, lambda report: report["rows"], rounds=1, warmup_rounds=0)
    throughput.benchmark.extra_info.update(peak_rss_bytes=report["peak_rss"],
                                           file_bytes=path.stat().st_size)
    print(f"\nwrite_logs of {BIG_USERS:,} users: {report['rows']:,} rows, peak RSS "
          f"{report['peak_rss'] / 2**20:,.0f} MiB, file {path.stat().st_size / 2**20:,.0f} MiB")
    assert report["rows"] > 50 * BIG_USERS
    assert report["peak_rss"] < GIB


def rows_in_dataset(directory):
    return ds.dataset(directory, format="parquet").count_rows()


def write_fresh_dataset(tmp_path, **options):
    """A function writing a new dataset directory at each call (a dataset
    is written into an empty directory)."""
    calls = []
    tmp_path.mkdir(exist_ok=True)

    def write():
        calls.append(1)
        return write_dataset(tmp_path / f"logs{len(calls)}", ARGS, USERS, **options)

    return write


def test_write_dataset_two_workers_against_one(throughput, tmp_path):
    results = throughput.alternating(
        DATASET, [("write_dataset workers=1", write_fresh_dataset(tmp_path / "one", workers=1)),
                  ("write_dataset workers=2", write_fresh_dataset(tmp_path / "two", workers=2))], rows_in_dataset)
    one, two = map(rows_in_dataset, results.values())
    assert one == two > 50 * USERS


def test_write_dataset_on_local_clusters_of_two_workers_and_one(throughput, tmp_path):
    distributed = pytest.importorskip("distributed")

    def cluster(workers):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)

    with cluster(1) as one, cluster(2) as two, distributed.Client(one) as client_one, \
            distributed.Client(two) as client_two:
        jobs = [(f"write_dataset LocalCluster {workers} worker(s)",
                 write_fresh_dataset(tmp_path / str(workers), workers=workers, executor=client.get_executor()))
                for workers, client in [(1, client_one), (2, client_two)]]
        results = throughput.alternating(CLUSTER, jobs, rows_in_dataset)
    one, two = map(rows_in_dataset, results.values())
    assert one == two > 50 * USERS


# Writes a dataset on a pool of N processes in a fresh interpreter and reports
# the peak resident memory of its largest worker (RUSAGE_CHILDREN covers the
# workers, which the pool's shutdown has waited for) and of the parent.
SCALE_SCRIPT = textwrap.dedent("""
    import concurrent.futures, json, resource, sys, time
    from recogym.parquet import write_dataset

    directory, users, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        write_dataset(directory, {"random_seed": 42}, users, workers=workers, executor=pool)
    seconds = time.perf_counter() - start
    kib = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    print(json.dumps({"seconds": seconds,
                      "worker_peak_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib}))
""")
SCALE_USERS = 100_000  # about 10 million events, ten default chunks


@pytest.mark.parametrize("in_flight", [1, 2, 4])
def test_dataset_events_per_second_and_worker_rss(throughput, tmp_path, in_flight):
    """Chunks in flight = worker processes, each simulating and writing one
    default chunk (about a million rows) at a time."""
    runs = []

    def write_in_subprocess():
        directory = tmp_path / f"logs{len(runs)}"
        done = subprocess.run([sys.executable, "-c", SCALE_SCRIPT, str(directory), str(SCALE_USERS),
                               str(in_flight)], check=True, capture_output=True, text=True)
        runs.append(json.loads(done.stdout))
        return directory

    directory = throughput("internet scale, 100k users", f"write_dataset, {in_flight} chunk(s) in flight",
                           write_in_subprocess, rows_in_dataset, rounds=1, warmup_rounds=0,
                           reference=in_flight == 1)
    rows, report = rows_in_dataset(directory), runs[-1]
    throughput.benchmark.extra_info.update(worker_peak_rss_bytes=report["worker_peak_rss"])
    print(f"\n{in_flight} chunk(s) in flight: {rows / report['seconds']:,.0f} events/s, worker peak RSS "
          f"{report['worker_peak_rss'] / 2**20:,.0f} MiB")
    assert rows > 50 * SCALE_USERS
    assert report["worker_peak_rss"] < GIB
