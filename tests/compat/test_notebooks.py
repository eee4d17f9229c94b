"""Real RecoGym code as tests: the original repository's notebooks and scripts.

Each script of the compat corpus (made by tests/compat/extract_notebooks.py
from criteo-research/reco-gym's notebooks, sim_test.py and deterministic_test.py,
with only mechanical changes and user counts scaled down) runs in a subprocess
under a small prelude (extract_notebooks.PRELUDE), in a fresh temporary
directory, with MPLBACKEND=Agg and a timeout:

* ``test_runs``: the script, as a user porting to recogym writes it, exits 0.
* ``test_legacy_numbers``: where the notebook printed numbers (CTR tables,
  ``test_agent`` tuples, counts, logs), the script run in legacy mode prints the
  numbers RecoGym 0.1.3.0 prints for the same scaled-down script.  Legacy mode
  is the prelude setting ``recogym.env_1_args['rng'] = recogym.env_0_args['rng']
  = 'legacy'`` before the script runs: the one non-import change.  The expected
  numbers are tests/fixtures/compat/notebooks/<script>.json, made by running the
  same scripts on 0.1.3.0 (tests/fixtures/compat/make_notebook_fixtures.py).

The scripts are read from tests/compat/notebooks/ and tests/compat/scripts/
when they are there; otherwise they are extracted into a temporary directory
from a copy of the original repository (extract_notebooks.DEFAULT_GIT_DIR /
DEFAULT_CHECKOUT, or RECOGYM_COMPAT_GIT_DIR / RECOGYM_COMPAT_CHECKOUT), and the
tests skip, saying so, when neither is there.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "compat" / "notebooks"


def _load_extractor():
    spec = importlib.util.spec_from_file_location("_compat_extract_notebooks", HERE / "extract_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


en = _load_extractor()

# A script runs in seconds on an idle machine; the timeout is for a hung one
# on a loaded CI machine, never a speed check.
TIMEOUT = 900

# Optional packages a script needs (beyond numpy, scipy, pandas): it skips,
# saying which, only when one is missing.
REQUIRES: dict[str, tuple[str, ...]] = {
    "getting_started": (),
    "compare_agents": ("torch",),  # BanditMFSquare
    "ips_vs_non_ips": ("matplotlib", "sklearn"),
    "organic_vs_likelihood": ("matplotlib", "sklearn"),
    "pure_organic_vs_bandit": (),
    "complex_time_behaviour": ("matplotlib", "sklearn"),
    "likelihood_agents": ("matplotlib", "sklearn"),
    "contextual_bandits": ("matplotlib", "sklearn"),
    "offline_evaluation_bandit_feedback": ("matplotlib", "sklearn"),
    "bandit_feedback_embedding_logreg": ("matplotlib", "sklearn"),
    "bandit_feedback_evaluate_organic_model": ("matplotlib",),
    "bandit_feedback_likelihood_feature_engineering": ("matplotlib", "sklearn"),
    "bandit_feedback_organic_vs_bandit_best_of": ("matplotlib",),
    "removed_epsilon_worse": ("matplotlib", "sklearn"),
    "removed_explore_exploit_evolution": ("matplotlib", "sklearn", "torch"),
    "removed_inverse_propensity_score": ("matplotlib", "sklearn", "torch"),
    "removed_bandit_feedback_organic_vs_likelihood": ("matplotlib",),
    "deterministic_test": ("sklearn", "torch"),
    "sim_test": (),
}

# Relative tolerance of the legacy-mode comparison.  The default covers
# 0.1.3.0's float32 logs (it casts t, v, a, c, ps to float32 in
# generate_logs): printed, those differ from float64 in the 8th digit.
RTOL = 1e-6
# Scripts whose printed numbers come from a fitted model, where an exact match
# is impossible for the stated reason: compared at the stated tolerance.
TOLERANCE: dict[str, tuple[float, str]] = {}
# Printed lines (by index in the fixture, [start, stop)) where recogym differs
# from 0.1.3.0 on purpose, each for the reason given (see docs/porting.md);
# every other line must match.
DIFFERS_ON_PURPOSE: dict[str, list[tuple[int, int, str]]] = {
    "getting_started": [(1, 4, "0.1.3.0's step_offline returns the logging policy's dict, which the notebook "
                               "prints; recogym's action is an int (with the dict's keys), printed as its product"),
                        (10, 11, "the notebook's own agent draws from numpy's global, unseeded random state, so "
                                 "0.1.3.0 itself prints another CTR each run"),
                        (11, 12, "RandomAgent's seed: 0.1.3.0's random_args draw random_seed at import"),
                        (12, 13, "the notebook's own agent, drawing from numpy's global random state")],
    "compare_agents": [(1, 2, "BanditCount: 0.1.3.0 counts each click under the view before last, a bug "
                              "recogym fixes"),
                       (2, 3, "BanditMFSquare's fit: recogym's MF agents fit with regularisation")],
    "bandit_feedback_embedding_logreg": [(21, 22, "RandomAgent's seed: 0.1.3.0's random_args draw random_seed "
                                                  "at import, so 0.1.3.0 itself prints other numbers each run")],
    "complex_time_behaviour": [(105, 115, "LogregPolyAgent's fits: 0.1.3.0 put the action's index in its cross "
                                          "features and aged views by int16-truncated times, which recogym fixes")],
}


def test_sources_cover_the_requirements_table():
    assert set(REQUIRES) == set(en.SOURCES)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """stem -> script: the committed one, or one extracted for this session."""
    scripts = {stem: en.output_path(source, None) for stem, source in en.SOURCES.items()}
    if all(path.exists() for path in scripts.values()):
        return scripts
    out = tmp_path_factory.mktemp("compat-corpus")
    try:
        return en.extract("recogym", out)
    except en.ExtractionError as error:
        pytest.skip(f"the compat corpus is neither in tests/compat nor extractable here: {error}")


def _script(corpus: dict[str, Path], stem: str) -> Path:
    missing = [module for module in REQUIRES[stem] if importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"{stem} needs {', '.join(missing)}, which is not installed")
    return corpus[stem]


def _run(corpus: dict[str, Path], stem: str, mode: str, cwd: Path) -> en.Run:
    script = _script(corpus, stem)
    source = en.SOURCES[stem]
    en.prepare_workdir(source, script, cwd)
    run = en.run_script(sys.executable, script, mode, cwd, source.argv, timeout=TIMEOUT)
    if run.returncode != 0:
        tail = "\n".join(run.stderr.rstrip().splitlines()[-25:])
        pytest.fail(f"{stem} ({mode} mode) exited {run.returncode}:\n{tail}", pytrace=False)
    return run


# Scripts that do not run yet, each for the reason given: strict, so that one
# that starts to run must leave this table.
DOES_NOT_RUN_YET = {
    "removed_explore_exploit_evolution": "gather_exploration_stats wraps each agent in EpsilonGreedy, which needs "
                                         "a batch policy, and LogregPolyAgent with a weight_history_function acts "
                                         "per user only",
}


@pytest.mark.parametrize("stem", [pytest.param(stem, marks=pytest.mark.xfail(reason=DOES_NOT_RUN_YET[stem],
                                                                            strict=True))
                                  if stem in DOES_NOT_RUN_YET else stem for stem in en.SOURCES])
def test_runs(stem: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    _run(corpus, stem, "default", tmp_path)


FIXTURED = sorted(path.stem for path in FIXTURES.glob("*.json"))


def test_every_fixture_names_a_source():
    assert FIXTURED, f"no fixtures in {FIXTURES}"
    assert set(FIXTURED) <= set(en.SOURCES)


def _same(expected: float, actual: float, rtol: float) -> bool:
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return math.isclose(expected, actual, rel_tol=rtol, abs_tol=1e-12)


@pytest.mark.parametrize("stem", FIXTURED)
def test_legacy_numbers(stem: str, corpus: dict[str, Path], tmp_path: Path) -> None:
    fixture = json.loads((FIXTURES / f"{stem}.json").read_text())
    script = _script(corpus, stem)
    assert en.script_digest(script.read_text()) == fixture["recogym_script_sha256"], (
        f"{script} is not the script {FIXTURES / (stem + '.json')} was made for: "
        "regenerate it with tests/fixtures/compat/make_notebook_fixtures.py"
    )
    run = _run(corpus, stem, "legacy", tmp_path)
    rtol = TOLERANCE.get(stem, (RTOL, ""))[0]
    expected = fixture["numbers"]
    actual = en.printed_numbers(run.printed, en.SOURCES[stem].volatile)
    on_purpose = {index for start, stop, _ in DIFFERS_ON_PURPOSE.get(stem, []) for index in range(start, stop)}
    assert on_purpose < set(range(len(expected))), f"{stem}: DIFFERS_ON_PURPOSE names lines 0.1.3.0 never printed"
    for index, ((want_line, want), (got_line, got)) in enumerate(zip(expected, actual)):
        if index in on_purpose:
            continue
        if len(want) != len(got) or not all(_same(w, g, rtol) for w, g in zip(want, got)):
            pytest.fail(
                f"{stem}: numeric line {index} differs from 0.1.3.0's (rtol {rtol}):\n"
                f"  0.1.3.0: {want_line[:300]}\n  recogym: {got_line[:300]}",
                pytrace=False,
            )
    assert len(actual) == len(expected), (
        f"{stem}: printed {len(actual)} lines with numbers, 0.1.3.0 printed {len(expected)}"
    )
