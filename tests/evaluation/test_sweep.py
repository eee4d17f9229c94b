import concurrent.futures
import importlib
import math
import os

import pandas as pd
import pytest

import recogym
from recogym.agents import PopularityAgent, RandomAgent, popularity_args, random_args
from recogym.evaluation.online import test_agent
from recogym.sweep import RESULT_COLUMNS, sweep

# The module, not the function recogym re-exports under the same name.
sweep_module = importlib.import_module("recogym.sweep")

AGENTS = {"random": RandomAgent(random_args), "popularity": (PopularityAgent, popularity_args)}
OUTCOMES = ["clicks", "impressions", "median", "q0.025", "q0.975", "error"]


class FailingAgent(RandomAgent):
    def act_batch(self, batch):
        raise RuntimeError("this agent always fails")


def small_sweep(**options):
    options = {"env_args_grid": {"prob_leave_bandit": [0.01, 0.03]}, "agents": AGENTS,
               "offline_users": [10, 30], "online_users": 40, "seeds": [1, 2], **options}
    return sweep(**options)


@pytest.fixture(scope="module")
def in_process():
    return small_sweep()


@pytest.fixture
def counted_cells(monkeypatch):
    """The (seed, n_offline) of every cell run in this process."""
    calls = []
    real = sweep_module.test_agent

    def counting(env, agent, n_offline, n_online):
        calls.append((env.config.prob_leave_bandit, env.config.random_seed, n_offline))
        return real(env, agent, n_offline, n_online)

    monkeypatch.setattr(sweep_module, "test_agent", counting)
    return calls


def test_one_row_per_cell_in_grid_order(in_process):
    assert list(in_process.columns) == ["prob_leave_bandit", *RESULT_COLUMNS]
    assert len(in_process) == 2 * 2 * 2 * 2
    first = in_process.iloc[:8]
    assert set(first["prob_leave_bandit"]) == {0.01}
    assert list(first["agent"]) == ["random"] * 4 + ["popularity"] * 4
    assert list(first["n_offline"]) == [10, 10, 30, 30] * 2
    assert list(first["seed"]) == [1, 2] * 4
    assert in_process["error"].isna().all()
    assert (in_process["clicks"] <= in_process["impressions"]).all()
    assert ((in_process["q0.025"] < in_process["median"]) & (in_process["median"] < in_process["q0.975"])).all()


def test_a_cell_is_test_agent_on_a_fresh_env(in_process):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"prob_leave_bandit": 0.03, "random_seed": 2})
    result = recogym.test_agent(env, PopularityAgent(popularity_args), 30, 40)
    row = in_process.query("prob_leave_bandit == 0.03 and agent == 'popularity' and n_offline == 30 and seed == 2")
    assert row[["clicks", "impressions", "median"]].iloc[0].tolist() == [result.clicks, result.impressions,
                                                                         result[0]]


def test_list_grid_columns_are_the_args_that_vary():
    results = sweep([{"num_products": 5}, {"num_products": 5, "prob_leave_bandit": 0.02}],
                    {"random": RandomAgent({"num_products": 5})}, [10], 20, [3])
    assert results["error"].isna().all()
    assert list(results.columns) == ["prob_leave_bandit", *RESULT_COLUMNS]
    assert results["prob_leave_bandit"].tolist() == [0.01, 0.02]  # the default, then the given value


def test_a_failing_cell_records_its_traceback_and_the_others_complete():
    results = sweep({}, {"fails": FailingAgent(), "random": RandomAgent()}, [10], 30, [1, 2])
    failed, passed = results[results["agent"] == "fails"], results[results["agent"] == "random"]
    assert failed["error"].str.contains("Traceback").all()
    assert failed["error"].str.contains("RuntimeError: this agent always fails").all()
    assert failed["clicks"].isna().all() and failed["median"].isna().all()
    assert passed["error"].isna().all() and (passed["impressions"] > 0).all()


def test_a_process_pool_gives_the_same_results(in_process):
    pooled = small_sweep(workers=2, agents={**AGENTS, "fails": FailingAgent()})
    pd.testing.assert_frame_equal(pooled[pooled["agent"] != "fails"][OUTCOMES].reset_index(drop=True),
                                  in_process[OUTCOMES])
    assert pooled[pooled["agent"] == "fails"]["error"].str.contains("always fails").all()


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """Records how many of its tasks were unfinished at each submit."""

    def __init__(self):
        super().__init__(3)
        self.futures = []
        self.unfinished_at_submit = []

    def submit(self, *args, **kwargs):
        self.unfinished_at_submit.append(sum(not future.done() for future in self.futures))
        future = super().submit(*args, **kwargs)
        self.futures.append(future)
        return future


def test_any_executor_with_at_most_two_cells_per_worker_in_flight(in_process):
    with CountingExecutor() as executor:
        got = small_sweep(executor=executor, workers=1)
    assert len(executor.futures) == 16 and max(executor.unfinished_at_submit) <= 1
    pd.testing.assert_frame_equal(got[OUTCOMES], in_process[OUTCOMES])


def test_dask_executor(in_process):
    distributed = pytest.importorskip("distributed", reason="the Dask executor needs distributed (recogym[dask])")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = small_sweep(executor=client.get_executor(), workers=2)
    pd.testing.assert_frame_equal(got[OUTCOMES], in_process[OUTCOMES])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_reruns_only_the_cells_missing_from_the_checkpoint(tmp_path, counted_cells, in_process, suffix):
    path = tmp_path / f"sweep{suffix}"
    first = small_sweep(checkpoint=path)
    assert len(counted_cells) == 16
    saved = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert len(saved) == 16 and list(saved.columns) == list(first.columns)
    dropped = saved.index[[3, 12]]
    missing = {(row.prob_leave_bandit, row.seed, row.n_offline) for row in saved.loc[dropped].itertuples()}
    kept = saved.drop(dropped)
    kept.to_parquet(path) if suffix == ".parquet" else kept.to_csv(path, index=False)
    counted_cells.clear()
    resumed = small_sweep(checkpoint=path, resume=True)
    assert set(counted_cells) == missing and len(counted_cells) == 2
    pd.testing.assert_frame_equal(resumed[OUTCOMES], in_process[OUTCOMES])
    saved = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert len(saved) == 16


def test_an_interrupted_sweep_keeps_its_finished_cells(tmp_path, monkeypatch, in_process):
    path = tmp_path / "sweep.csv"
    real = sweep_module.test_agent
    calls = []

    def interrupted_on_the_fifth(*args):
        calls.append(args)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sweep_module, "test_agent", interrupted_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        small_sweep(checkpoint=path)
    assert len(pd.read_csv(path)) == 4
    assert not [name for name in tmp_path.iterdir() if name.name.endswith(".tmp")]
    calls.clear()
    monkeypatch.setattr(sweep_module, "test_agent", lambda *args: calls.append(args) or real(*args))
    resumed = small_sweep(checkpoint=path, resume=True)
    assert len(calls) == 12
    pd.testing.assert_frame_equal(resumed[OUTCOMES], in_process[OUTCOMES])


def test_failed_cells_are_rerun_on_resume(tmp_path):
    path = tmp_path / "sweep.csv"
    sweep({}, {"flaky": FailingAgent(), "random": RandomAgent()}, [10], 30, [1], checkpoint=path)
    resumed = sweep({}, {"flaky": RandomAgent(), "random": RandomAgent()}, [10], 30, [1], checkpoint=path,
                    resume=True)
    assert resumed["error"].isna().all()
    assert resumed["clicks"].tolist() == [resumed["clicks"][1]] * 2


def test_checkpoint_is_not_overwritten_without_resume(tmp_path):
    path = tmp_path / "sweep.csv"
    path.write_text("precious\n")
    with pytest.raises(FileExistsError, match="resume=True"):
        sweep({}, {"random": RandomAgent()}, [10], 20, [1], checkpoint=path)
    assert path.read_text() == "precious\n"


def test_checkpoint_of_another_sweep_is_refused(tmp_path):
    path = tmp_path / "sweep.csv"
    sweep({"num_products": [5, 6]}, {"random": RandomAgent()}, [10], 20, [1], checkpoint=path)
    with pytest.raises(ValueError, match="checkpoint .* holds another sweep"):
        sweep({"K": [2, 3]}, {"random": RandomAgent()}, [10], 20, [1], checkpoint=path, resume=True)


@pytest.mark.parametrize("options, error, name", [
    ({"env_args_grid": {"random_seed": [1, 2]}}, ValueError, "env_args_grid"),
    ({"env_args_grid": {"num_products": 5}}, TypeError, r"env_args_grid\['num_products'\]"),
    ({"env_args_grid": []}, TypeError, "env_args_grid"),
    ({"env_args_grid": {"num_products": [0]}}, ValueError, "num_products"),
    ({"env_args_grid": {"num_products": [5, 5]}}, ValueError, "repeat a cell"),
    ({"agents": {}}, TypeError, "agents"),
    ({"agents": {"x": object()}}, TypeError, r"agents\['x'\]"),
    ({"offline_users": [10, -1]}, ValueError, r"offline_users\[1\]"),
    ({"offline_users": 10}, TypeError, "offline_users"),
    ({"online_users": 0}, ValueError, "online_users"),
    ({"seeds": [2**64]}, ValueError, "seeds"),
    ({"seeds": [1.5]}, TypeError, r"seeds\[0\]"),
    ({"workers": 0}, ValueError, "workers"),
    ({"executor": "dask"}, TypeError, "executor"),
    ({"model": "reco-gym-v2"}, ValueError, "model"),
    ({"resume": True}, ValueError, "resume"),
    ({"checkpoint": "sweep.json"}, ValueError, "checkpoint"),
    ({"checkpoint": "/no/such/dir/sweep.csv"}, FileNotFoundError, "checkpoint"),
])
def test_bad_arguments_are_named_before_any_cell_runs(options, error, name, counted_cells):
    options = {"env_args_grid": {}, "agents": {"random": RandomAgent()}, "offline_users": [10],
               "online_users": 20, "seeds": [1], **options}
    with pytest.raises(error, match=name):
        sweep(**options)
    assert counted_cells == []


def test_gather_agent_stats_use_case():
    """0.1.3.0's CTR against training size: offline_users is the x axis."""
    results = sweep({}, {"random": RandomAgent()}, [10, 100], 30, [1])
    assert results["n_offline"].tolist() == [10, 100]
    assert all(0 < ctr < 1 for ctr in results["median"]) and not any(map(math.isnan, results["seconds"]))


def test_resume_keeps_the_checkpoint_rows_of_other_cells(tmp_path):
    path = tmp_path / "sweep.csv"
    sweep({}, {"random": RandomAgent()}, [10], 20, [1], checkpoint=path)
    resumed = sweep({}, {"random": RandomAgent()}, [10], 20, [2], checkpoint=path, resume=True)
    assert resumed["seed"].tolist() == [2]
    assert sorted(pd.read_csv(path)["seed"]) == [1, 2]


@pytest.mark.parametrize("cut", [1, 2, 5, 12])
def test_a_csv_checkpoint_cut_short_reruns_only_the_cut_cell(tmp_path, counted_cells, in_process, cut):
    path = tmp_path / "sweep.csv"
    small_sweep(checkpoint=path)
    path.write_bytes(path.read_bytes()[:-cut])  # the last record loses its end, newline first
    counted_cells.clear()
    with pytest.warns(UserWarning, match="cut short.*run again"):
        resumed = small_sweep(checkpoint=path, resume=True)
    assert len(counted_cells) == 1
    pd.testing.assert_frame_equal(resumed[OUTCOMES], in_process[OUTCOMES])


def test_a_damaged_checkpoint_row_is_run_again(tmp_path, counted_cells, in_process):
    path = tmp_path / "sweep.csv"
    small_sweep(checkpoint=path)
    saved = pd.read_csv(path)
    saved.loc[3, "clicks"] = saved.loc[3, "impressions"] + 1
    saved.loc[5, "median"] = 2.0
    saved.to_csv(path, index=False)
    counted_cells.clear()
    with pytest.warns(UserWarning) as warned:
        resumed = small_sweep(checkpoint=path, resume=True)
    messages = [str(warning.message) for warning in warned]
    assert any("row 3 is damaged" in message and "clicks <= impressions" in message for message in messages)
    assert any("row 5 is damaged" in message and "q0.025 <= median" in message for message in messages)
    assert len(counted_cells) == 2
    pd.testing.assert_frame_equal(resumed[OUTCOMES], in_process[OUTCOMES])


def test_an_unreadable_parquet_checkpoint_is_refused_with_advice(tmp_path):
    path = tmp_path / "sweep.parquet"
    small_sweep(checkpoint=path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match="sweep.parquet.*unreadable.*remove it to run the sweep from the start"):
        small_sweep(checkpoint=path, resume=True)


def die_on_seed_two(env, agent, n_offline, n_online):
    if env.config.random_seed == 2 and n_offline == 30:
        os._exit(9)
    return test_agent(env, agent, n_offline, n_online)


def test_a_cell_whose_worker_dies_is_recorded_and_the_others_finish(monkeypatch, in_process):
    # Pools fork after the patch, so their workers inherit it.
    monkeypatch.setattr(sweep_module, "test_agent", die_on_seed_two)
    results = small_sweep(workers=2)
    dead = (results["seed"] == 2) & (results["n_offline"] == 30)
    assert dead.sum() == 4
    assert results.loc[dead, "error"].str.contains("(?s)failed twice.*BrokenProcessPool", regex=True).all()
    pd.testing.assert_frame_equal(results.loc[~dead, OUTCOMES], in_process.loc[~dead, OUTCOMES])


def test_the_sweep_bar_counts_cells_done_failed_and_remaining(monkeypatch, tmp_path):
    made = []

    class Bar:
        def __init__(self, total, initial, disable, **options):
            self.total, self.position, self.disable, self.postfixes = total, initial, disable, []
            made.append(self)

        def update(self, n):
            self.position += n

        def set_postfix(self, refresh=True, **values):
            self.postfixes.append(values)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(sweep_module, "tqdm", Bar)
    sweep({}, {"flaky": FailingAgent(), "random": RandomAgent()}, [10], 30, [1, 2], progress=True, workers=2)
    [bar] = made
    assert (bar.total, bar.position, bar.disable) == (4, 4, None)
    assert bar.postfixes[-1] == {"done": 2, "failed": 2, "remaining": 0}
    assert [sum(postfix.values()) for postfix in bar.postfixes] == [4] * 4
