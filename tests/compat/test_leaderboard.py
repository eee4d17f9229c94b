"""The original RecoGym leaderboard entries (tests/compat/leaderboard_entries,
unmodified) through ``recogym leaderboard`` with ``sim_test.py``'s flags.

Every entry gets a row. In legacy mode the entries whose agents recogym
draws as 0.1.3.0 did score exactly what 0.1.3.0's ``competition_score`` gave
at the same settings (tests/fixtures/compat/make_leaderboard_fixtures.py);
the others, whose agents recogym fixed, score within 0.1.3.0's interval.
"""
import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENTRIES = Path(__file__).parent / "leaderboard_entries"
FIXTURE = Path(__file__).parent.parent / "fixtures" / "compat" / "leaderboard.json.gz"
TORCH = importlib.util.find_spec("torch") is not None

#: The agents of each entry file: 0.1.3.0's build_agent_init names.
AGENTS = {
    "bandit_count.py": "BanditCount",
    "bandit_mf_square.py": "BanditMFsquare",
    "context_bandit.py": "Contextual Bandit",
    "dump_agent.py": "DumpAgent",
    "likelihood.py": "Likelihood",
    "likelihood_with_time.py": "LikelihoodWithTime",
    "organic_count.py": "OrganicCount",
    "organic_user_count.py": "OrganicUserCount",
    "pytorch_CB.py": "PyTorchMLRAgent",
    "pytorch_CB_log.py": "PyTorchMLRAgent",
    "pytorch_likelihood.py": "PyTorchMLRAgent",
    "rand_agent.py": "RandomAgent",
    "reweighted_likelihood.py": "Re-weighted",
}
#: Entries whose agents draw as 0.1.3.0's in legacy mode, and learn as they did.
SAME_AS_0_1_3_0 = ("BanditCount", "OrganicCount", "OrganicUserCount", "RandomAgent")


def leaderboard(*flags):
    script = shutil.which("recogym", path=str(Path(sys.executable).parent)) or shutil.which("recogym")
    assert script is not None, "the recogym console script is not installed"
    completed = subprocess.run([script, "leaderboard", "--entries_dir", str(ENTRIES), *flags, "--json"],
                               capture_output=True, text=True, timeout=1200)
    assert completed.returncode in (0, 2), completed.stderr
    # stderr holds what the entries' code prints or warns, then at most the one error line.
    assert "Traceback" not in completed.stderr
    if completed.returncode == 2:
        assert completed.stderr.splitlines()[-1].startswith("recogym: error: ")
    return {record["entry"]: record for record in json.loads(completed.stdout)}, completed


@pytest.fixture(scope="module")
def legacy():
    settings = json.loads(gzip.open(FIXTURE, "rt").read())["settings"]  # sim_test.py's flags and values
    return leaderboard(*[str(part) for name, value in settings.items() for part in (f"--{name}", value)],
                       "--rng", "legacy")


@pytest.fixture(scope="module")
def default():
    return leaderboard("--P", "10", "--UO", "10", "--U", "20", "--Utest", "20", "--seed", "3")


def test_the_entries_are_the_originals_byte_for_byte():
    assert sorted(path.name for path in ENTRIES.glob("*.py")) == sorted(AGENTS)
    readme = (ENTRIES / "README.md").read_text()
    assert "f8553d197f42ec2f415aefce48525d0e9b10ddaa" in readme
    assert (ENTRIES.parent / "LICENSE-reco-gym").read_text().lstrip().startswith("Apache License")


#: Entries that fail today in legacy mode for a bug outside the leaderboard
#: (strict: they must fail, so the mark goes once the bug is fixed).
KNOWN_LEGACY_FAILURES: dict[str, str] = {}


def entry_params(known_failures):
    return [pytest.param(entry, marks=pytest.mark.xfail(reason=known_failures[entry], strict=True))
            if entry in known_failures else entry for entry in sorted(AGENTS)]


def check_row(records, entry):
    assert set(records) == set(AGENTS)
    record = records[entry]
    if entry.startswith("pytorch_") and not TORCH:
        assert record["agent"] == Path(entry).stem and record["rank"] is None and "torch" in record["error"]
        pytest.skip(f"{entry} needs torch: pip install recogym[torch]")
    assert record["error"] is None, f"{entry}: {record['error']}"
    assert record["agent"] == AGENTS[entry]
    assert record["rank"] >= 1 and record["impressions"] > 0
    assert record["q0.025"] <= record["median"] <= record["q0.975"]


@pytest.mark.parametrize("entry", entry_params({}))
def test_every_entry_gets_a_row_in_the_default_mode(default, entry):
    check_row(default[0], entry)


@pytest.mark.parametrize("entry", entry_params(KNOWN_LEGACY_FAILURES))
def test_every_entry_gets_a_row_in_legacy_mode(legacy, entry):
    check_row(legacy[0], entry)


def test_the_command_fails_only_for_the_failed_entries(default):
    records, completed = default
    failed = [record for record in records.values() if record["error"] is not None]
    assert completed.returncode == (2 if failed else 0)
    if failed:
        assert completed.stderr.splitlines()[-1].startswith(
            f"recogym: error: {len(failed)} of {len(records)} entries failed")


@pytest.mark.parametrize("agent", SAME_AS_0_1_3_0)
def test_legacy_scores_are_0_1_3_0s(legacy, agent):
    records, _ = legacy
    expected = json.loads(gzip.open(FIXTURE, "rt").read())["scores"][agent]
    record = records[expected["entry"]]
    assert record["median"] == pytest.approx(expected["q0.500"], rel=1e-12)
    assert record["q0.025"] == pytest.approx(expected["q0.025"], rel=1e-12)
    assert record["q0.975"] == pytest.approx(expected["q0.975"], rel=1e-12)


def test_the_fixed_agents_score_within_0_1_3_0s_interval(legacy):
    records, _ = legacy
    scores = json.loads(gzip.open(FIXTURE, "rt").read())["scores"]
    for agent, expected in scores.items():
        record = records[expected["entry"]]
        if agent in SAME_AS_0_1_3_0 or record["error"] is not None:
            continue
        assert expected["q0.025"] <= record["median"] <= expected["q0.975"], agent
