"""Dying workers: a chunk whose worker dies is retried alone, once; a chunk
that kills its worker twice costs only itself; pool workers exit with the
process that started them."""
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import recogym.sim.parallel as parallel
from recogym.parallel import TaskFailed, Tasks, simulate_parallel
from recogym.parquet import ChunksFailed, read_logs, write_dataset

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kills processes with POSIX signals")


@pytest.fixture(autouse=True)
def forked_workers():
    """Pools that fork, so that their workers inherit the tests' patches:
    importing some libraries (torchrl) switches the process to spawn."""
    before = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("fork", force=True)
    yield
    multiprocessing.set_start_method(before, force=True)

COLUMNS = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
USERS, CHUNK = 40, 7


def assert_same_logs(got, expected):
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def kill_worker_on(monkeypatch, first_user, flag=None):
    """The chunk starting at ``first_user`` kills the process running it:
    once if ``flag`` (a path, created by the first death), else always.
    Pools fork after this, so their workers inherit the patch."""
    simulate = parallel.simulate_logs

    def dying(engine, lo, *args):
        if lo == first_user and (flag is None or not flag.exists()):
            if flag is not None:
                flag.write_bytes(b"")
            os._exit(17)
        return simulate(engine, lo, *args)

    monkeypatch.setattr(parallel, "simulate_logs", dying)


def test_a_worker_that_dies_once_costs_nothing(monkeypatch, tmp_path):
    expected = simulate_parallel({"random_seed": 3}, USERS, chunk_users=CHUNK)
    kill_worker_on(monkeypatch, 2 * CHUNK, flag=tmp_path / "died")
    got = simulate_parallel({"random_seed": 3}, USERS, chunk_users=CHUNK, workers=2)
    assert (tmp_path / "died").exists()
    assert_same_logs(got, expected)


def test_a_chunk_that_kills_its_worker_twice_costs_only_itself(monkeypatch, tmp_path):
    kill_worker_on(monkeypatch, 2 * CHUNK)
    directory = tmp_path / "logs"
    with pytest.raises(ChunksFailed, match=r"users \[14, 21\): BrokenProcessPool.*resume=True") as failed:
        write_dataset(directory, {"random_seed": 3}, USERS, chunk_users=CHUNK, workers=2)
    assert [(lo, hi) for lo, hi, _ in failed.value.failures] == [(14, 21)]
    # A neighbour killed with the broken pool may leave a temporary file, never a part.
    parts = sorted(name for name in os.listdir(directory) if not name.endswith(".tmp"))
    assert parts == [f"part-{index:06d}.parquet" for index in (0, 1, 3, 4, 5)]
    monkeypatch.undo()
    write_dataset(directory, {"random_seed": 3}, USERS, chunk_users=CHUNK, workers=2, resume=True)
    assert not [name for name in os.listdir(directory) if name.endswith(".tmp")]
    assert_same_logs(read_logs(directory)[0], simulate_parallel({"random_seed": 3}, USERS, chunk_users=CHUNK))


def test_in_memory_logs_refuse_a_lost_chunk(monkeypatch):
    kill_worker_on(monkeypatch, CHUNK)
    with pytest.raises(TaskFailed, match="task 1 failed twice: BrokenProcessPool"):
        simulate_parallel({"random_seed": 3}, USERS, chunk_users=CHUNK, workers=2)


class FailsOnce:
    """A task that raises the first time it runs in this process."""

    def __init__(self):
        self.calls = 0

    def __call__(self, value):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("lost the worker")
        return value


def test_an_executor_task_is_retried_once():
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        tasks = Tasks(executor, 1)
        flaky = FailsOnce()
        tasks.submit(0, flaky, "done")
        assert tasks.next_done() == (0, "done") and flaky.calls == 2
        tasks.submit(1, lambda: 1 / 0)
        with pytest.raises(TaskFailed, match="task 1 failed twice: ZeroDivisionError") as failed:
            tasks.next_done()
        assert isinstance(failed.value.cause, ZeroDivisionError)
        tasks.close()


ORPHAN_SCRIPT = textwrap.dedent("""
    import os, time
    from recogym.parallel import process_pool

    def slow_pid():
        time.sleep(0.5)
        return os.getpid()

    pool = process_pool(2)
    pids = {future.result() for future in [pool.submit(slow_pid) for _ in range(2)]}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(600)
""")


def alive(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(line.split()[1] for line in status if line.startswith("State:")) != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_pool_workers_exit_when_their_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers)
    finally:
        parent.kill()
        parent.stdout.close()
