"""The original RecoGym leaderboard entries (criteo-research/reco-gym's
``leaderboard_entries/*.py`` at master, unmodified) through ``recogym
leaderboard`` with ``sim_test.py``'s flags.

The entries are not part of this repository (code of another project stays
out of it): they are read, byte for byte, from a copy of the original
repository (tests/compat/extract_notebooks.py's DEFAULT_GIT_DIR or
DEFAULT_CHECKOUT), and the tests skip, saying so, where there is none. The
entry forms themselves (``build_agent_init``, ``TestAgent``) are tested with
entries of our own in tests/test_cli.py.

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

FIXTURE = Path(__file__).parent.parent / "fixtures" / "compat" / "leaderboard.json.gz"

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
#: The optional packages each entry's agent needs (recogym[torch], recogym[sklearn]).
REQUIRES = {
    "bandit_mf_square.py": ("torch",),
    "context_bandit.py": ("sklearn",),
    "likelihood.py": ("sklearn",),
    "likelihood_with_time.py": ("sklearn",),
    "reweighted_likelihood.py": ("sklearn",),
    "pytorch_CB.py": ("torch",),
    "pytorch_CB_log.py": ("torch",),
    "pytorch_likelihood.py": ("torch",),
}
#: Entries whose agents draw as 0.1.3.0's in legacy mode, and learn as they did.
SAME_AS_0_1_3_0 = ("BanditCount", "OrganicCount", "OrganicUserCount", "RandomAgent")


def _load_extractor():
    spec = importlib.util.spec_from_file_location("_compat_extract_entries", Path(__file__).parent /
                                                  "extract_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def entries(tmp_path_factory):
    """A folder of the original entries, read from a copy of the repository."""
    en = _load_extractor()
    folder = tmp_path_factory.mktemp("leaderboard_entries")
    try:
        for name in AGENTS:
            data = en.read_source(f"leaderboard_entries/{name}", en.MASTER, en.DEFAULT_GIT_DIR, en.DEFAULT_CHECKOUT)
            (folder / name).write_bytes(data)
    except en.ExtractionError as error:
        pytest.skip(f"the original leaderboard entries are not readable here: {error}")
    return folder


def leaderboard(entries, *flags):
    script = shutil.which("recogym", path=str(Path(sys.executable).parent)) or shutil.which("recogym")
    assert script is not None, "the recogym console script is not installed"
    completed = subprocess.run([script, "leaderboard", "--entries_dir", str(entries), *flags, "--json"],
                               capture_output=True, text=True, timeout=1200)
    assert completed.returncode in (0, 2), completed.stderr
    # stderr holds what the entries' code prints or warns, then at most the one error line.
    assert "Traceback" not in completed.stderr
    if completed.returncode == 2:
        assert completed.stderr.splitlines()[-1].startswith("recogym: error: ")
    return {record["entry"]: record for record in json.loads(completed.stdout)}, completed


@pytest.fixture(scope="module")
def legacy(entries):
    settings = json.loads(gzip.open(FIXTURE, "rt").read())["settings"]  # sim_test.py's flags and values
    return leaderboard(entries, *[str(part) for name, value in settings.items() for part in (f"--{name}", value)],
                       "--rng", "legacy")


@pytest.fixture(scope="module")
def default(entries):
    return leaderboard(entries, "--P", "10", "--UO", "10", "--U", "20", "--Utest", "20", "--seed", "3")


def test_the_entries_are_the_originals(entries):
    assert sorted(path.name for path in entries.glob("*.py")) == sorted(AGENTS)
    assert all("build_agent_init" in path.read_text() for path in entries.glob("*.py"))


#: Entries that fail today in legacy mode for a bug outside the leaderboard
#: (strict: they must fail, so the mark goes once the bug is fixed).
KNOWN_LEGACY_FAILURES: dict[str, str] = {}


def entry_params(known_failures):
    return [pytest.param(entry, marks=pytest.mark.xfail(reason=known_failures[entry], strict=True))
            if entry in known_failures else entry for entry in sorted(AGENTS)]


def check_row(records, entry):
    assert set(records) == set(AGENTS)
    record = records[entry]
    missing = [package for package in REQUIRES.get(entry, ()) if importlib.util.find_spec(package) is None]
    if missing:
        # The entry still gets its row, which names what to install.
        assert record["rank"] is None and "pip install recogym[" in record["error"], record
        pytest.skip(f"{entry} needs {', '.join(missing)}, which is not installed")
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
