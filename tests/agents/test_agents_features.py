"""Per-impression features from logs against a per-event Python reference."""
import numpy as np
import pytest
from scipy import sparse

from recogym.agents import features
from recogym.agents.features import (
    impression_features,
    impressions,
    organic_sessions,
    weighted_view_counts,
)
from recogym.logs import Logs


def halve_every_three(ages):
    return 0.5 ** (ages / 3.0)


def reference_features(logs, num_products, clicked_only=False, weight_history_function=None):
    """What 0.1.3.0's ``train_data`` loop computes, one event at a time."""
    rows = []
    for user in dict.fromkeys(logs.u.tolist()):
        times, views = [], []
        for i in np.flatnonzero(logs.u == user):
            if logs.z[i] == 0:
                times.append(logs.t[i])
                views.append(logs.v[i])
                continue
            if clicked_only and logs.c[i] != 1:
                continue
            counts = np.zeros(num_products)
            for time, view in zip(times, views):
                counts[view] += 1.0 if weight_history_function is None else \
                    weight_history_function(np.array([times[-1] - time]))[0]
            rows.append((counts, user, views[-1] if views else -1, logs.a[i], logs.c[i], logs.ps[i]))
    if not rows:
        return np.zeros((0, num_products)), *(np.zeros(0) for _ in range(5))
    counts, *columns = zip(*rows)
    return np.array(counts), *(np.array(column) for column in columns)


@pytest.fixture(scope="module")
def logs(request):
    import recogym

    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 3, "num_products": 10})
    return env.simulate(60, num_organic_users=5)


def shuffled_users(logs, seed=0):
    """The same logs with whole users in another order (each user's events
    stay in time order), as logs concatenated from several sources are."""
    users = np.unique(logs.u)
    order = np.concatenate([np.flatnonzero(logs.u == user) for user in np.random.default_rng(seed).permutation(users)])
    return Logs(**{name: column[order] for name, column in logs.columns().items()})


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("clicked_only", [False, True])
@pytest.mark.parametrize("weight_history_function", [None, halve_every_three])
def test_impression_features_match_the_per_event_loop(logs, dense, clicked_only, weight_history_function):
    got = impression_features(logs, 10, clicked_only=clicked_only, dense=dense,
                              weight_history_function=weight_history_function)
    counts, users, last_view, actions, clicks, propensities = reference_features(
        logs, 10, clicked_only, weight_history_function)
    assert isinstance(got.views, np.ndarray) == dense
    views = got.views if dense else got.views.toarray()
    np.testing.assert_allclose(views, counts, rtol=1e-12)
    np.testing.assert_array_equal(got.users, users)
    np.testing.assert_array_equal(got.last_view, last_view)
    np.testing.assert_array_equal(got.actions, actions)
    np.testing.assert_array_equal(got.clicks, clicks)
    np.testing.assert_array_equal(got.propensities, propensities)
    assert len(got.actions) > (20 if clicked_only else 2000)


def test_users_in_any_order_and_small_chunks_give_the_same_rows(logs, monkeypatch):
    expected = impression_features(logs, 10)
    monkeypatch.setattr(features, "_PAIRS_PER_CHUNK", 7)
    got = impression_features(shuffled_users(logs), 10, dense=False)
    order = np.argsort(got.users, kind="stable")
    np.testing.assert_array_equal(got.views.toarray()[order], expected.views)
    np.testing.assert_array_equal(got.actions[order], expected.actions)
    np.testing.assert_array_equal(got.last_view[order], expected.last_view)


def test_views_are_csr_beyond_the_dense_limit():
    import recogym

    env = recogym.make("reco-gym-v1")
    env.init_gym({"random_seed": 1, "num_products": features.DENSE_MAX_PRODUCTS + 1})
    got = impression_features(env.simulate(20), env.num_products)
    assert sparse.issparse(got.views) and got.views.format == "csr"
    assert got.views.shape == (len(got.actions), env.num_products)


def test_impressions_are_the_features_without_views(logs):
    with_views = impression_features(logs, 10, clicked_only=True)
    without = impressions(logs, clicked_only=True)
    for name in without._fields:
        np.testing.assert_array_equal(getattr(without, name), getattr(with_views, name))


def test_organic_sessions_split_at_impressions_and_users(logs):
    views, sessions = organic_sessions(shuffled_users(logs, seed=4))
    expected_views, expected_sessions, session = [], [], -1
    for user in np.unique(logs.u):
        previous_organic = False
        for i in np.flatnonzero(logs.u == user):
            organic = logs.z[i] == 0
            if organic:
                session += not previous_organic
                expected_views.append(logs.v[i])
                expected_sessions.append(session)
            previous_organic = organic
    np.testing.assert_array_equal(views, expected_views)
    np.testing.assert_array_equal(sessions, expected_sessions)


def test_weighted_view_counts_of_one_user():
    counts = weighted_view_counts([2, 0, 2], [0.0, 3.0, 6.0], 4, halve_every_three)
    np.testing.assert_allclose(counts, [0.5, 0.0, 1.25, 0.0])
    np.testing.assert_array_equal(weighted_view_counts([], [], 3, halve_every_three), np.zeros(3))


def test_weights_need_view_times_and_one_weight_per_age(logs):
    no_times = Logs(**{**logs.columns(),
                       "t": np.full(len(logs), np.nan)})
    with pytest.raises(ValueError, match="weight_history_function"):
        impression_features(no_times, 10, weight_history_function=halve_every_three)
    with pytest.raises(ValueError, match="weight_history_function"):
        impression_features(logs, 10, weight_history_function=lambda ages: np.ones(3))


def test_empty_logs_give_empty_features():
    empty = Logs(**{name: np.zeros(0, dtype=dtype) for name, dtype in
                    (("t", float), ("u", np.int64), ("z", np.int8), ("v", np.int32), ("a", np.int32),
                     ("c", np.int8), ("ps", float), ("click_probability", float))})
    got = impression_features(empty, 4)
    assert got.views.shape == (0, 4) and len(got.actions) == 0
    assert len(organic_sessions(empty)[0]) == 0
