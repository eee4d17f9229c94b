"""simulate_parallel: the logs of one env.simulate call, however the users
are cut into chunks and wherever the chunks run."""
import concurrent.futures
import warnings

import numpy as np
import pytest

import recogym
from recogym.logs import Logs
from recogym.parallel import SimulationJob, default_chunk_users, simulate_parallel
from recogym.params import resolve_env_args
from recogym.policies import UserPopularity

MODELS = ["reco-gym-v1", "reco-gym-v0"]
COLUMNS = ("t", "u", "z", "v", "a", "c", "ps", "click_probability")
POLICY = np.arange(1, 11) / 55.0
USERS, ORGANIC_USERS = 40, 6


def assert_same_logs(got, expected):
    for name in COLUMNS:
        assert getattr(got, name).dtype == getattr(expected, name).dtype, name
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def one_call(make_env, model="reco-gym-v1", policy=POLICY, rng="default", random_seed=17):
    env = make_env(model, random_seed=random_seed, rng=rng)
    return env.simulate(USERS, num_organic_users=ORGANIC_USERS, policy=policy)


def in_parallel(model="reco-gym-v1", policy=POLICY, rng="default", random_seed=17, **options):
    return simulate_parallel({"random_seed": random_seed, "rng": rng}, USERS, model=model,
                             num_organic_users=ORGANIC_USERS, policy=policy, **options)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("workers, chunk_users", [(1, 1), (1, 13), (2, 7), (3, 13), (3, 1), (2, None)])
def test_same_logs_as_one_simulate_call(make_env, model, workers, chunk_users):
    # Chunks of 7 and 13 straddle the last organic-only user (id 5).
    assert_same_logs(in_parallel(model, workers=workers, chunk_users=chunk_users), one_call(make_env, model))


@pytest.mark.parametrize("policy", [None, UserPopularity(0.05)], ids=["uniform", "user-popularity"])
def test_every_policy_kind_splits(make_env, policy):
    assert_same_logs(in_parallel(policy=policy, workers=2, chunk_users=7), one_call(make_env, policy=policy))


def test_large_catalogues_split_too(make_env):
    """num_products >= 1000 takes the engine's lockstep path, chunk by chunk."""
    expected = make_env(random_seed=9, num_products=1000).simulate(30, num_organic_users=4)
    got = simulate_parallel({"random_seed": 9, "num_products": 1000}, 30, num_organic_users=4, workers=2,
                            chunk_users=7)
    assert_same_logs(got, expected)


@pytest.mark.parametrize("room", [True, False], ids=["/dev/shm", "no room there: the temporary directory"])
def test_own_pool_hands_chunks_back_through_files_it_removes(make_env, monkeypatch, tmp_path, room):
    """Workers of simulate_parallel's own pool write their chunks to files,
    in /dev/shm when it has room; none is left once the logs are read."""
    import recogym.sim.parallel as parallel

    spill_roots, directories = [], []
    real_root, real_directory = parallel._spill_root, parallel.tempfile.TemporaryDirectory
    if not room:
        monkeypatch.setattr(parallel.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 0})())
    monkeypatch.setattr(parallel.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(parallel, "_spill_root", lambda job: spill_roots.append(real_root(job)) or spill_roots[-1])

    def directory(**options):
        directories.append(real_directory(**options))
        return directories[-1]

    monkeypatch.setattr(parallel.tempfile, "TemporaryDirectory", directory)
    got = in_parallel(workers=2, chunk_users=7)
    assert_same_logs(got, one_call(make_env))
    expected_root = "/dev/shm" if room and parallel.os.path.isdir("/dev/shm") else None
    assert spill_roots == [expected_root]
    assert [parallel.os.path.dirname(made.name) for made in directories] == [expected_root or str(tmp_path)]
    assert not parallel.os.path.exists(directories[0].name)


def test_own_pool_grows_the_result_when_chunks_outrun_the_estimate(make_env, monkeypatch):
    """The result is sized from the expected rows; chunks past that are
    still read in order, into columns grown to fit."""
    import recogym.sim.parallel as parallel

    monkeypatch.setattr(parallel, "expected_rows", lambda transition, num_users, num_organic_users=0: 10)
    assert_same_logs(in_parallel(workers=2, chunk_users=7), one_call(make_env))


def test_no_users_gives_empty_typed_logs(make_env):
    got = simulate_parallel({}, 0, workers=2)
    assert len(got) == 0
    assert_same_logs(got, make_env().simulate(0))


def test_any_executor(make_env):
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        got = in_parallel(workers=2, chunk_users=7, executor=executor)
    assert_same_logs(got, one_call(make_env))


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    def __init__(self):
        super().__init__(2)
        self.submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_at_most_two_chunks_per_worker_in_flight():
    with CountingExecutor() as executor:
        job = SimulationJob.plan({}, 50, workers=3, chunk_users=2, executor=executor)
        for received, _ in enumerate(job.chunks()):
            assert executor.submitted - received <= 2 * 3
    assert executor.submitted == 25


def test_dask_executor(make_env):
    distributed = pytest.importorskip("distributed",
                                      reason="the Dask executor needs distributed (recogym[dask])")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = in_parallel(workers=2, chunk_users=7, executor=client.get_executor())
    assert_same_logs(got, one_call(make_env))


@pytest.mark.parametrize("model", MODELS)
def test_legacy_warns_and_runs_sequentially(make_env, model):
    expected = one_call(make_env, model, rng="legacy")
    with pytest.warns(UserWarning, match="sequentially.*shared"):
        got = in_parallel(model, rng="legacy", workers=2, chunk_users=7)
    assert_same_logs(got, expected)
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        with pytest.warns(UserWarning, match="sequentially"):
            got = in_parallel(model, rng="legacy", chunk_users=13, executor=executor)
    assert_same_logs(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same_logs(in_parallel(model, rng="legacy", chunk_users=7), expected)


@pytest.mark.parametrize("args", [{}, {"prob_leave_organic": 0.04, "prob_leave_bandit": 0.02}])
def test_default_chunk_aims_at_a_million_rows(make_env, args):
    """The expected events per user, which sizes the default chunk, matches
    the mean of 3000 users well within 10% (about six standard errors)."""
    config = resolve_env_args("reco-gym-v1", {"random_seed": 4, **args})
    expected_events = 1_000_000 / default_chunk_users(config)
    mean_events = len(make_env(**config).simulate(3000)) / 3000
    assert abs(mean_events / expected_events - 1) < 0.1


def test_users_who_never_leave_are_refused_before_any_chunk():
    with pytest.raises(ValueError, match="prob_leave"):
        simulate_parallel({"prob_leave_organic": 0.0, "prob_leave_bandit": 0.0}, 5, workers=2)


@pytest.mark.parametrize("options, error, name", [
    ({"num_users": -1}, ValueError, "num_users"),
    ({"num_users": 2.5}, TypeError, "num_users"),
    ({"num_organic_users": -3}, ValueError, "num_organic_users"),
    ({"num_users": 2**62 + 1, "num_organic_users": 2**62}, ValueError, "num_organic_users"),
    ({"workers": 0}, ValueError, "workers"),
    ({"workers": "2"}, TypeError, "workers"),
    ({"chunk_users": 0}, ValueError, "chunk_users"),
    ({"chunk_users": 1.0}, TypeError, "chunk_users"),
    ({"executor": object()}, TypeError, "executor"),
    ({"model": "reco-gym-v2"}, ValueError, "model"),
    ({"policy": np.ones(3) / 3}, ValueError, "policy"),
    ({"policy": np.full(10, 0.2)}, ValueError, "policy"),
    ({"env_args": [("random_seed", 1)]}, TypeError, "env args"),
    ({"env_args": {"num_products": 0}}, ValueError, "num_products"),
    ({"env_args": {"agent": recogym.agents.RandomAgent(recogym.agents.random_args)}}, ValueError, "agent"),
])
def test_bad_arguments_are_named(options, error, name):
    arguments = {"env_args": {}, "num_users": 10, **options}
    with pytest.raises(error, match=name):
        simulate_parallel(arguments.pop("env_args"), arguments.pop("num_users"), **arguments)


def test_unknown_env_args_warn_once_and_are_not_shipped():
    with pytest.warns(UserWarning, match="unknown env arg 'num_product'"):
        job = SimulationJob.plan({"num_product": 5}, 10)
    assert "num_product" not in job.config
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(simulate_parallel(job.config, 3, workers=2), Logs)


class RecordingBar:
    """Stands in for tqdm: records the bars made and how far they went."""

    made = []

    def __init__(self, total, initial=0, disable=None, **options):
        self.total, self.position, self.disable, self.updates = total, initial, disable, []
        RecordingBar.made.append(self)

    def update(self, n):
        self.updates.append(n)
        self.position += n

    def set_postfix(self, refresh=True, **values):
        self.postfix = values

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def bars(monkeypatch):
    import recogym.sim.parallel as parallel

    RecordingBar.made = []
    monkeypatch.setattr(parallel, "tqdm", RecordingBar)
    return RecordingBar.made


@pytest.mark.parametrize("workers", [1, 2])
def test_one_bar_per_job_fed_as_chunks_finish(bars, workers):
    in_parallel(workers=workers, chunk_users=7, progress=True)
    [bar] = bars
    assert bar.total == bar.position == USERS + ORGANIC_USERS and bar.disable is None
    if workers > 1:
        assert sorted(bar.updates) == sorted([7] * 6 + [4])
    else:  # one pass of the log driver, fed as it goes
        assert sum(bar.updates) == USERS + ORGANIC_USERS and min(bar.updates) > 0
    in_parallel(workers=workers, chunk_users=7)
    assert bars[1].disable is True
