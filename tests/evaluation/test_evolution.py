import copy

import numpy as np
import pandas as pd
import pytest

from recogym.agents import OrganicCount, PopularityAgent, RandomAgent
from recogym.evolution import (
    StepLogs,
    TrainingApproach,
    evolve_agent,
    exploration_table,
    plot_evolution,
    select_impressions,
    select_training_logs,
)
from recogym.logs import logs_from_rows

P = 10


def _history(clicked_users=()):
    """Initial logs (users 0-1), then two steps (users 2-3, 4-5): each user one
    view then two impressions, the second of each step's users explored; the
    first impression of each user in ``clicked_users`` is clicked."""
    parts = []
    for first_user in (0, 2, 4):
        rows, explored = [], []
        for user in (first_user, first_user + 1):
            rows.append((0.0, user, 0, 1, -1, -1, np.nan, np.nan))
            explored.append(False)
            for step in range(2):
                click = int(user in clicked_users and step == 0)
                rows.append((1.0 + step, user, 1, -1, 3, click, 0.5, 0.01))
                explored.append(first_user == 0 or user == first_user + 1)
        parts.append(StepLogs(logs_from_rows(rows), np.array(explored)))
    return parts


def test_last_step_trains_on_the_last_step_only():
    history = _history()
    selected = select_training_logs(history, TrainingApproach.LAST_STEP)
    assert set(selected.u) == {4, 5}
    assert len(selected) == len(history[-1].logs)


def test_all_data_keeps_every_row():
    selected = select_training_logs(_history(), TrainingApproach.ALL_DATA)
    assert len(selected) == 18
    assert set(selected.u) == set(range(6))


def test_sliding_window_keeps_the_last_impressions_and_their_users_views():
    selected = select_training_logs(_history(), TrainingApproach.SLIDING_WINDOW_ALL_DATA, sliding_window_samples=3)
    impressions = selected.z == 1
    assert impressions.sum() == 3
    assert list(selected.u[impressions]) == [4, 5, 5]
    assert list(selected.u[~impressions]) == [4, 5]


def test_exploration_data_keeps_only_explored_impressions():
    selected = select_training_logs(_history(), TrainingApproach.ALL_EXPLORATION_DATA)
    impressions = selected.z == 1
    # The initial (uniform) logs count as exploration: users 0 and 1; then users 3 and 5.
    assert sorted(set(selected.u[impressions])) == [0, 1, 3, 5]
    assert impressions.sum() == 8
    assert sorted(selected.u[~impressions]) == [0, 1, 3, 5]


def test_sliding_exploration_window_keeps_the_last_explored_impressions():
    selected = select_training_logs(_history(), TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA,
                                    sliding_window_samples=3)
    impressions = selected.z == 1
    # The explored impressions, oldest first: users 0, 0, 1, 1 (initial), 3, 3, 5, 5.
    assert list(selected.u[impressions]) == [3, 5, 5]
    assert list(selected.u[~impressions]) == [3, 5]


def test_most_valuable_keeps_clicks_first_then_the_latest_misses():
    history = _history(clicked_users=(0, 1))  # users 0 and 1 each clicked once, long ago
    selected = select_training_logs(history, TrainingApproach.MOST_VALUABLE, sliding_window_samples=4)
    impressions = selected.z == 1
    assert impressions.sum() == 4
    assert list(selected.u[impressions]) == [0, 1, 5, 5]
    assert list(selected.c[impressions]) == [1, 1, 0, 0]


@pytest.mark.parametrize("clicked, window, expected", [
    ([1, 0, 1, 0, 0], 1, [0, 0, 1, 0, 0]),   # more clicks than room: the latest
    ([1, 0, 1, 0, 0], 3, [1, 0, 1, 0, 1]),   # both clicks, then the latest miss
    ([0, 0, 0], 5, [1, 1, 1]),               # a window larger than the history keeps it all
])
def test_select_impressions_most_valuable(clicked, window, expected):
    explored = np.zeros(len(clicked), dtype=bool)
    chosen = select_impressions(TrainingApproach.MOST_VALUABLE, explored, np.array(clicked, dtype=bool), window)
    assert chosen.tolist() == [bool(x) for x in expected]


def test_select_impressions_of_each_approach():
    explored = np.array([True, False, True, True, False])
    clicked = np.array([False, True, False, False, True])
    assert select_impressions(TrainingApproach.ALL_DATA, explored, clicked).all()
    assert select_impressions(TrainingApproach.ALL_EXPLORATION_DATA, explored, clicked).tolist() == explored.tolist()
    assert select_impressions(TrainingApproach.SLIDING_WINDOW_ALL_DATA, explored, clicked, 2).tolist() == [
        False, False, False, True, True]
    assert select_impressions(TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA, explored, clicked, 2).tolist() == [
        False, False, True, True, False]
    with pytest.raises(ValueError, match="LAST_STEP"):
        select_impressions(TrainingApproach.LAST_STEP, explored, clicked)
    with pytest.raises(ValueError, match="one length"):
        select_impressions(TrainingApproach.ALL_DATA, explored, clicked[:3])
    with pytest.raises(ValueError, match="sliding_window_samples"):
        select_impressions(TrainingApproach.MOST_VALUABLE, explored, clicked, 0)


def test_the_approaches_are_0_1_3_0s_enum():
    import recogym
    import recogym.constants

    assert recogym.constants.TrainingApproach is TrainingApproach is recogym.TrainingApproach
    assert [approach.value for approach in TrainingApproach] == list(range(6))


def test_select_refuses_empty_history():
    with pytest.raises(ValueError, match="history"):
        select_training_logs([], TrainingApproach.ALL_DATA)


def test_select_refuses_an_unknown_approach():
    with pytest.raises(ValueError, match="approach"):
        select_training_logs(_history(), "last_step")


@pytest.fixture(scope="module")
def env():
    import recogym

    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 3, "num_products": P})
    return env


@pytest.mark.parametrize("approach", list(TrainingApproach))
def test_each_approach_runs_and_reports_its_training_data(env, approach):
    results = evolve_agent(copy.deepcopy(env), PopularityAgent({"num_products": P}), 20, 15, 3, approach,
                             sliding_window_samples=300, epsilon=0.2)
    assert list(results["step"]) == [0, 1, 2]
    assert (results["approach"] == approach.name).all()
    assert (results["impressions"] > 0).all()
    assert (results["greedy_impressions"] < results["impressions"]).all()
    assert (results["q0.025"] <= results["median"]).all() and (results["median"] <= results["q0.975"]).all()
    training = list(results["training_impressions"])
    explored = results["impressions"] - results["greedy_impressions"]
    if approach in (TrainingApproach.SLIDING_WINDOW_ALL_DATA, TrainingApproach.MOST_VALUABLE):
        assert training[1:] == [300, 300]
    elif approach is TrainingApproach.SLIDING_WINDOW_EXPLORATION_DATA:
        # The initial (uniform) logs are all explored, and hold more than 300.
        assert training[1:] == [300, 300]
    elif approach is TrainingApproach.LAST_STEP:
        assert training[1:] == list(results["impressions"][:-1])
    elif approach is TrainingApproach.ALL_DATA:
        assert training[1] == training[0] + results["impressions"][0]
    else:
        assert training[1] == training[0] + explored[0]


def test_no_exploration_means_every_impression_is_greedy(env):
    results = evolve_agent(copy.deepcopy(env), RandomAgent({"num_products": P}), 10, 10, 2, epsilon=0.0)
    assert (results["greedy_impressions"] == results["impressions"]).all()
    assert (results["greedy_clicks"] == results["clicks"]).all()


def test_results_are_deterministic_for_a_seed(env):
    def run():
        return evolve_agent(copy.deepcopy(env), OrganicCount({"num_products": P}), 20, 15, 2,
                              TrainingApproach.ALL_EXPLORATION_DATA, epsilon=0.1)

    pd.testing.assert_frame_equal(run(), run())


@pytest.mark.parametrize("seed", [1, 2])
def test_a_learning_agent_stays_above_random(seed):
    import recogym

    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": seed, "num_products": P})
    results = evolve_agent(env, OrganicCount({"num_products": P}), 50, 100, 3, TrainingApproach.LAST_STEP,
                             epsilon=0.05)
    # Random's CTR here is about 1.1% and OrganicCount's about 2.3% (README);
    # with about 7,000 impressions a step, 1.5% is many standard errors from both.
    assert (results["clicks"] / results["impressions"] > 0.015).all()


def test_gather_and_plot(env, tmp_path):
    pytest.importorskip("matplotlib")
    results = exploration_table(env, {"popularity": PopularityAgent({"num_products": P})},
                                       [TrainingApproach.ALL_DATA], [0.0, 0.1], num_initial_train_users=10,
                                       num_step_users=5, num_steps=2)
    assert list(results["agent"].unique()) == ["popularity"]
    assert sorted(results["epsilon"].unique()) == [0.0, 0.1]
    path = tmp_path / "evolution.png"
    figure = plot_evolution(results, path)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert len(figure.axes) == 1


def test_plot_names_missing_columns():
    with pytest.raises(ValueError, match="median"):
        plot_evolution(pd.DataFrame({"step": [0], "approach": ["ALL_DATA"], "epsilon": [0.0]}))


def test_evolve_agent_names_bad_arguments(env):
    with pytest.raises(ValueError, match="training_approach"):
        evolve_agent(copy.deepcopy(env), RandomAgent({"num_products": P}), training_approach="ALL_DATA")
    with pytest.raises(ValueError, match="num_steps"):
        evolve_agent(copy.deepcopy(env), RandomAgent({"num_products": P}), num_steps=-1)
