"""rng='legacy' against traces of RecoGym 0.1.3.0 itself.

The fixtures come from tests/fixtures/make_legacy_fixtures.py, run under the
original package; see tests/fixtures/legacy/README.md.
"""
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import recogym

FIXTURES = Path(__file__).parent.parent / "fixtures" / "legacy"


def load(path):
    with gzip.open(path, "rt") as handle:
        return json.load(handle)


def legacy_env(fixture):
    args = {**fixture["args_used"], **fixture["overrides"], "rng": "legacy"}
    env = recogym.make(fixture["env"])
    env.init_gym(args)
    return env


def with_phantom_rows(fixture):
    """The fixture's columns with 0.1.3.0's phantom impressions put back: after
    each non-organic-only user's last row, the logging action taken after the
    user left, click 0 (the fixture keeps them aside)."""
    columns, phantoms = fixture["columns"], fixture["dropped_phantom_rows"]
    rows = list(zip(*(columns[key] for key in ("t", "u", "z", "v", "a", "c", "ps"))))
    for t, u, a, ps in reversed(list(zip(phantoms["t"], phantoms["u"], phantoms["a"], phantoms["ps"]))):
        last = max(i for i, row in enumerate(rows) if row[1] == u)
        rows.insert(last + 1, (t, u, "bandit", None, a, 0, ps))
    return {key: [row[j] for row in rows] for j, key in enumerate(("t", "u", "z", "v", "a", "c", "ps"))}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("logs_*.json.gz")), ids=lambda p: p.name)
def test_simulate_matches_0_1_3_0(path):
    """simulate: 0.1.3.0's logs without its phantom rows, whose draws it still makes."""
    fixture = load(path)
    env = legacy_env(fixture)
    logs = env.simulate(fixture["num_offline_users"], fixture["num_organic_offline_users"]).to_pandas()
    assert_logs(logs, fixture["columns"], fixture["num_rows"])


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("logs_*.json.gz")), ids=lambda p: p.name)
def test_generate_logs_matches_0_1_3_0(path):
    """generate_logs: 0.1.3.0's logs row for row, phantom rows included."""
    fixture = load(path)
    env = legacy_env(fixture)
    logs = env.generate_logs(fixture["num_offline_users"],
                             num_organic_offline_users=fixture["num_organic_offline_users"])
    assert_logs(logs, with_phantom_rows(fixture), fixture["num_rows"] + len(fixture["dropped_phantom_rows"]["u"]))


def assert_logs(logs, expected, num_rows):
    assert len(logs) == num_rows
    assert logs["z"].astype(str).tolist() == expected["z"]
    assert logs["u"].tolist() == expected["u"]
    np.testing.assert_array_equal(logs["t"].to_numpy(), np.array(expected["t"], dtype=float))
    for column in ("v", "a", "c"):
        got = [None if pd.isna(value) else int(value) for value in logs[column]]
        assert got == expected[column], column
    ps = [None if np.isnan(value) else value for value in logs["ps"]]
    assert ps == expected["ps"]


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.glob("steps_*.json.gz") if "offline" not in p.name),
    ids=lambda p: p.name,
)
def test_step_sequences_match_0_1_3_0(path):
    fixture = load(path)
    env = legacy_env(fixture)
    for user in fixture["users"]:
        env.reset(user["user"])
        for step in user["steps"]:
            observation, reward, done, info = env.step(step["action"])
            assert reward == step["reward"]
            assert done == step["done"]
            assert info == {}
            assert observation.get_views() == step["views"]
            assert observation.times == step["times"]
            assert [session["v"] for session in observation.sessions()] == step["views"]
            assert observation.context().time() == step["context_time"]


def test_step_offline_matches_0_1_3_0():
    fixture = load(FIXTURES / "steps_v1_default_s42_offline.json.gz")
    env = legacy_env(fixture)
    for user in fixture["users"]:
        env.reset(user["user"])
        for step in user["steps"]:
            action, observation, reward, done, info = env.step_offline()
            assert (None if action is None else int(action)) == step["action"]
            if action is not None:
                assert action.ps == step["ps"]
            assert reward == step["reward"]
            assert done == step["done"]
            assert observation.get_views() == step["views"]
            assert observation.context().time() == step["context_time"]
