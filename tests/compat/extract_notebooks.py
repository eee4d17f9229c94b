"""Turn the original RecoGym repository's notebooks and scripts into plain scripts.

The compat corpus (tests/compat/test_notebooks.py) runs real code written for
RecoGym 0.1.3.0 against recogym.  This script makes that code: it reads the
notebooks of criteo-research/reco-gym (the master checkout, and notebooks that
were removed, from the repository's git history) and writes one Python script
per notebook, applying only the mechanical changes listed below.  Nothing else
of the original code is touched.

Two targets come out of the same pipeline:

``recogym``
    what a user porting to recogym writes: ``import gym`` becomes
    ``import recogym`` and ``gym.make(`` becomes ``recogym.make(``.
``legacy``
    the same code for RecoGym 0.1.3.0 itself (run under its own venv by
    tests/fixtures/compat/make_notebook_fixtures.py): it keeps ``import gym``
    and ``gym.make``.  (gym 0.21 wraps what ``gym.make`` returns in
    OrderEnforcing, which refuses 0.1.3.0's own positional ``reset(user_id)``
    and hides attribute assignment: the prelude's ``original`` mode makes
    ``gym.make`` return ``.unwrapped``, for the library's calls as well.)

Mechanical changes, in the order they are applied (both targets unless said):

=====================================  ==========================================
original                               script
=====================================  ==========================================
cell ``%%time`` (a cell magic)         the line is dropped, the cell's code kept
cell ``%%R`` and other non-Python      the cell is dropped (R code, not Python)
cell magics
line ``%matplotlib``, ``%config``,     dropped (IPython magics)
``%load_ext``, ``!pip ...``
``reco_gym``                           ``recogym`` (the package's pre-0.1 name)
``from agents import``                 ``from recogym.agents import`` (notebooks
``from agents.abstract import``        once ran from inside the repository)
``from tensorflow.keras.utils import   ``from recogym.agents.organic_count import
to_categorical``                       to_categorical`` (0.1.3.0's own copy;
                                       TensorFlow is not installed)
``from IPython.display import          ``display = _out`` (the notebook front end;
display, HTML``                        ``_out`` prints what Jupyter would show)
``LogisticRegression(multi_class=      ``LogisticRegression(...)``: scikit-learn
'multinomial', ...)``                  1.8 removed the argument, and multinomial
                                       is lbfgs' default since 1.5 (same model)
``import gym, recogym`` /              ``import recogym`` (recogym target)
``import gym``
``gym.make(``                          ``recogym.make(`` (recogym target)
a cell's last bare expression ``e``    ``_out(e)``: Jupyter displays it as
                                       ``Out[n]``; ``_out`` prints it (a
                                       DataFrame in full, via ``to_string``)
matplotlib                             the Agg backend and ``plt.show()`` a no-op
                                       (set in the header; no display)
=====================================  ==========================================

Then each source's own table of exact ``(old, new)`` substitutions is applied
(SOURCES below): user counts, epochs and sample sizes scaled down so that each
script runs in seconds, and the rare script-specific mechanical drop.  Every
``old`` must occur exactly ``count`` times (default 1) in the text it is applied
to, or extraction fails naming the source and the text: a table that no longer
matches its notebook is an error, never silently skipped.

Usage::

    python tests/compat/extract_notebooks.py                 # writes the corpus
    python tests/compat/extract_notebooks.py --target legacy --out /tmp/legacy-corpus
    python tests/compat/extract_notebooks.py --list          # what is extracted

Sources are read from ``--git-dir`` (default: the search tool's mirror of
criteo-research/reco-gym, /work/.mirror/criteo-research+reco-gym/repo) at the
commit pinned for each source; files of master may instead come from a master
checkout (``--checkout``, default /tmp/rg), which is then checked against the
pinned master commit when the git directory is there too.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_GIT_DIR = Path(
    os.environ.get("RECOGYM_COMPAT_GIT_DIR", "/work/.mirror/criteo-research+reco-gym/repo")
)
DEFAULT_CHECKOUT = Path(os.environ.get("RECOGYM_COMPAT_CHECKOUT", "/tmp/rg"))
REPOSITORY = "criteo-research/reco-gym"
MASTER = "f8553d197f42ec2f415aefce48525d0e9b10ddaa"  # master, 2020-02-25 ("minor fix")
TARGETS = ("recogym", "legacy")

LICENCE_NOTICE = """\
# The code below is from the RecoGym repository, licensed under the Apache
# License, Version 2.0 (the "License"); you may not use this file except in
# compliance with the License.  A copy is at
# https://www.apache.org/licenses/LICENSE-2.0.  Distributed on an "AS IS"
# BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.  It was modified by the mechanical changes listed below."""


@dataclasses.dataclass(frozen=True)
class Source:
    """One notebook or script of the original repository.

    ``commit`` is the commit the file is read at: MASTER, or for a removed
    notebook the parent of the commit that removed it (``removed_in``).
    ``substitutions`` are ``(old, new)`` or ``(old, new, count)``: exact text,
    applied after the mechanical changes, each matching exactly ``count``
    times (1 unless given).
    """

    stem: str
    path: str
    kind: str  # "notebook" (written to notebooks/) or "script" (to scripts/)
    commit: str = MASTER
    removed_in: str | None = None
    substitutions: tuple[tuple[str, ...], ...] = ()
    argv: tuple[str, ...] = ()  # command-line arguments the script is run with
    volatile: tuple[str, ...] = ()  # printed text that is no result (clock times): removed
    why: str = ""  # a note for the header (what the scaling keeps)


SOURCES: dict[str, Source] = {
    s.stem: s
    for s in (
        Source(
            "getting_started", "Getting Started.ipynb", "notebook",
            substitutions=(
                ("num_offline_users = 1000", "num_offline_users = 50"),
                ("num_online_users = 100", "num_online_users = 10"),
                ("deepcopy(agent_rand), 1000, 1000)", "deepcopy(agent_rand), 50, 50)"),
                ("deepcopy(popularity_agent), 1000, 1000)", "deepcopy(popularity_agent), 50, 50)"),
            ),
        ),
        Source(
            "compare_agents", "Compare Agents.ipynb", "notebook",
            substitutions=(
                ("env_1_args['num_products'] = 100", "env_1_args['num_products'] = 10"),
                ("deepcopy(agent_rand), 1000, 1000)", "deepcopy(agent_rand), 50, 50)"),
                ("deepcopy(agent_banditcount), 1000, 1000)", "deepcopy(agent_banditcount), 50, 50)"),
                ("deepcopy(agent_banditmfsquare), 1000, 1000)",
                 "deepcopy(agent_banditmfsquare), 50, 50)"),
            ),
        ),
        Source(
            "ips_vs_non_ips", "IPS vs Non-IPS.ipynb", "notebook",
            substitutions=(
                ("TrainingDataSamples = (100, 500, 1000, 2000, 3000, 5000, 8000, 10000, 13000, 14000, 15000)",
                 "TrainingDataSamples = (10, 30)"),
                ("TestingDataSamples = 15000", "TestingDataSamples = 30"),
                ("StatEpochs = 5", "StatEpochs = 2"),
            ),
        ),
        Source(
            "organic_vs_likelihood", "Organic vs Likelihood.ipynb", "notebook",
            substitutions=(
                ("TrainingDataSamples = (100, 500, 1000, 2000, 3000, 5000, 8000, 10000, 13000, 14000, 15000)",
                 "TrainingDataSamples = (10, 30)"),
                ("TestingDataSamples = 15000", "TestingDataSamples = 30"),
                ("StatEpochs = 10", "StatEpochs = 2"),
            ),
        ),
        Source(
            "pure_organic_vs_bandit", "Pure Organic vs Bandit - Number of Online Users.ipynb", "notebook",
            substitutions=(
                ("offline_organic = 10000", "offline_organic = 50"),
                ("eval_size = 20000", "eval_size = 50"),
                ("for samples in (1, 10, 100, 1000, 10000):", "for samples in (1, 10):"),
            ),
            why="the %%R cell only plotted `res` with ggplot2",
        ),
        Source(
            "complex_time_behaviour", "Complex Time Behaviour.ipynb", "notebook",
            substitutions=(
                ("                10000,\n                10000\n", "                20,\n                20\n"),
            ),
        ),
        Source(
            "likelihood_agents", "Likelihood Agents.ipynb", "notebook",
            substitutions=(
                ("ABTestNumberOfUsers = 10000", "ABTestNumberOfUsers = 60"),
                ("[(0, 100), (1, 1000), (2, 10000)]", "[(0, 10), (1, 20), (2, 50)]"),
                ("for count in range(1, 200):", "for count in range(1, 20):"),
                ("for count in range(1, 100):", "for count in range(1, 20):", 3),
            ),
        ),
        Source(
            "contextual_bandits", "ContextualBandits.ipynb", "notebook",
            substitutions=(
                ("NUM_USERS = 1000", "NUM_USERS = 50"),
                ("preview_start, preview_size = 500, 10", "preview_start, preview_size = 50, 10"),
                ("picked_sample = 500", "picked_sample = 50"),
            ),
        ),
        Source(
            "offline_evaluation_bandit_feedback", "Offline Evaluation with Bandit Feedback.ipynb", "notebook",
            substitutions=(
                ("P = 2000 # Number of Products", "P = 50 # Number of Products"),
                ("U = 2000 # Number of Users", "U = 100 # Number of Users"),
                ("itemkNNAgent(Configuration(env_1_args), U, P, 500, greedy = True)",
                 "itemkNNAgent(Configuration(env_1_args), U, P, 20, greedy = True)"),
                ("SVDAgent(Configuration(env_1_args), U, P, 30)", "SVDAgent(Configuration(env_1_args), U, P, 10)"),
                ("n_test_users = 5000 # U", "n_test_users = 100 # U"),
            ),
        ),
        Source(
            "bandit_feedback_embedding_logreg",
            "Bandit Feedback - Embedding-based LogReg with Bandit Feedback.ipynb", "notebook",
            substitutions=(("U = 5000 # Number of Users", "U = 50 # Number of Users"),),
        ),
        Source(
            "bandit_feedback_evaluate_organic_model",
            "Bandit Feedback - Evaluate Organic Model with Bandit Signal.ipynb", "notebook",
            substitutions=(
                ("P = 1000  # Number of Products", "P = 100  # Number of Products"),
                ("U = 1200 # Number of Users", "U = 50 # Number of Users"),
            ),
        ),
        Source(
            "bandit_feedback_likelihood_feature_engineering",
            "Bandit Feedback - Likelihood based feature engineering logistic regression.ipynb", "notebook",
            substitutions=(
                ("ABTestNumberOfUsers=5000", "ABTestNumberOfUsers=100"),
                ("result = verify_agents(env, 5000,", "result = verify_agents(env, 100,"),
            ),
        ),
        Source(
            "bandit_feedback_organic_vs_bandit_best_of",
            "Bandit Feedback - Organic best of vs Bandit best of.ipynb", "notebook",
            substitutions=(
                ("ABTestNumberOfUsers=5000", "ABTestNumberOfUsers=200"),
                ("                       10000,\n", "                       100,\n"),
            ),
            volatile=(r"A/B-testing at .*",),
        ),
        Source(
            "removed_epsilon_worse", "Epsilon Worse.ipynb", "notebook",
            commit="79c7dc72a6e98730814891230ad066695483a9a8^", removed_in="79c7dc72a6e98730814891230ad066695483a9a8",
            substitutions=(
                ("ABTestNumberOfUsers = 10", "ABTestNumberOfUsers = 5"),
                ("    TrainingApproach.ALL_EXPLORATION_DATA\n)",
                 "    TrainingApproach.ALL_EXPLORATION_DATA,\n    num_initial_train_users=10, num_step_users=10, num_evolution_steps=2\n)", 2),
                ("    TrainingApproach.LAST_STEP\n)", "    TrainingApproach.LAST_STEP,\n    num_initial_train_users=10, num_step_users=10, num_evolution_steps=2\n)", 2),
            ),
        ),
        Source(
            "removed_explore_exploit_evolution", "Explore Exploit Evolution.ipynb", "notebook",
            commit="79c7dc72a6e98730814891230ad066695483a9a8^", removed_in="79c7dc72a6e98730814891230ad066695483a9a8",
            substitutions=(
                ("    TrainingApproach.ALL_DATA\n)", "    TrainingApproach.ALL_DATA,\n    num_initial_train_users=10, num_step_users=10, num_evolution_steps=2\n)"),
                ("    TrainingApproach.ALL_EXPLORATION_DATA\n)",
                 "    TrainingApproach.ALL_EXPLORATION_DATA,\n    num_initial_train_users=10, num_step_users=10, num_evolution_steps=2\n)"),
                ("    TrainingApproach.LAST_STEP\n)", "    TrainingApproach.LAST_STEP,\n    num_initial_train_users=10, num_step_users=10, num_evolution_steps=2\n)", 2),
            ),
        ),
        Source(
            "removed_inverse_propensity_score", "Inverse Propensity Score.ipynb", "notebook",
            commit="79c7dc72a6e98730814891230ad066695483a9a8^", removed_in="79c7dc72a6e98730814891230ad066695483a9a8",
            substitutions=(
                ("ABTestNumberOfUsers = 10000", "ABTestNumberOfUsers = 100"),
                ("env_1_args['num_epochs'] = 100", "env_1_args['num_epochs'] = 2"),
                ("for count in range(200):", "for count in range(20):", 2),
                ("    max_iter = 5000,", "    max_iter = 200,"),
                ("    max_iter = 10000,", "    max_iter = 200,"),
                ("TrainingDataSamples = (100, 500, 1000, 2000, 3000, 5000, 8000, 10000, 13000, 14000, 15000)",
                 "TrainingDataSamples = (10, 30)"),
                ("TestingDataSamples = 10000", "TestingDataSamples = 30"),
            ),
        ),
        Source(
            "removed_bandit_feedback_organic_vs_likelihood", "Bandit Feedback - Organic vs Likelihood.ipynb",
            "notebook",
            commit="014a7b5ee70afdd67143252719a059f346ba2988^", removed_in="014a7b5ee70afdd67143252719a059f346ba2988",
            substitutions=(
                ("ABTestNumberOfUsers=5000", "ABTestNumberOfUsers=200"),
                ("                       5000,\n", "                       100,\n"),
            ),
            volatile=(r"A/B-testing at .*",),
        ),
        Source(
            "deterministic_test", "deterministic_test.py", "script",
            substitutions=(("samples = 200  #", "samples = 20  #"),),
        ),
        Source(
            "sim_test", "sim_test.py", "script",
            substitutions=(
                (("    import tensorflow as tf2\n    print(f'TensorFlow V2: {tf2.__version__}')\n"
                  "    import tensorflow.compat.v1 as tf1\n    print(f'TensorFlow V2: {tf1.__version__}')\n"), ""),
            ),
            argv=("--P", "10", "--UO", "20", "--U", "20", "--Utest", "50", "--K", "5", "--F", "2",
                  "--entries_dir", "entries"),
            why="tensorflow was imported only to print its version",
            volatile=(r"^Namespace\(.*", r"\S+(?=\s+entries/)"),
        ),
    )
}

# Checked, but not extracted (README.md says the same):
NOT_EXTRACTED = {
    "Module III A.ipynb (removed in 794f05c)": "an exercise template: cells hold blanks such as "
    "`clicks[product_id] = # code here`, a SyntaxError; its solution is "
    "'Bandit Feedback - Organic best of vs Bandit best of.ipynb' (extracted)",
    "Module III B.ipynb (removed in 794f05c)": "an exercise template with blanks (SyntaxError); its "
    "solution is 'Bandit Feedback - Evaluate Organic Model with Bandit Signal.ipynb' (extracted)",
    "Module III C.ipynb (removed in 794f05c)": "code identical to 'Bandit Feedback - Likelihood based "
    "feature engineering logistic regression.ipynb' (extracted)",
    "Likelihood Agents.ipynb (removed in 79c7dc7, re-added later)": "identical to master's version "
    "once `from agents import` is rewritten (extracted as likelihood_agents)",
    "Bandit Feedback - IPS based models.ipynb (removed in 94a0d0c)": "has no code (one empty cell)",
}

# The files sim_test.py is run on (its --entries_dir): master's own default
# entry plus three small leaderboard entries, copied beside the script.
SIM_TEST_ENTRIES = (
    "my_entries/test_agent.py",
    "leaderboard_entries/organic_count.py",
    "leaderboard_entries/bandit_count.py",
    "leaderboard_entries/rand_agent.py",
)


class ExtractionError(RuntimeError):
    """A source cannot be turned into a script as its table says."""


# ----------------------------------------------------------------- reading


def read_source(path: str, commit: str, git_dir: Path, checkout: Path | None) -> bytes:
    """The bytes of ``path`` at ``commit``: from a master checkout when the
    commit is MASTER and the checkout has the file, else from git."""
    if commit == MASTER and checkout is not None and (checkout / path).is_file():
        data = (checkout / path).read_bytes()
        if git_dir.is_dir():
            pinned = _git_show(git_dir, commit, path)
            if pinned != data:
                raise ExtractionError(f"{checkout / path} differs from {path} at master {MASTER[:7]}")
        return data
    if not git_dir.is_dir():
        raise ExtractionError(f"{path} at {commit[:8]} needs the git directory {git_dir}")
    return _git_show(git_dir, commit, path)


def _git_show(git_dir: Path, commit: str, path: str) -> bytes:
    try:
        return subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
            check=True, capture_output=True,
        ).stdout
    except subprocess.CalledProcessError as error:
        raise ExtractionError(f"git show {commit}:{path} failed: {error.stderr.decode().strip()}") from None


def resolve_commit(commit: str, git_dir: Path) -> str:
    """``commit`` as 40 hex digits (``X^`` is resolved when git is there)."""
    if re.fullmatch(r"[0-9a-f]{40}", commit) or not git_dir.is_dir():
        return commit
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", commit], check=True, capture_output=True, text=True
    ).stdout.strip()


def notebook_cells(data: bytes) -> list[tuple[int, str]]:
    """(index, source) of each code cell of an .ipynb file."""
    notebook = json.loads(data)
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            source = cell["source"]
            cells.append((index, source if isinstance(source, str) else "".join(source)))
    return cells


# --------------------------------------------------------- the mechanical changes

# Cell magics whose body is Python: the magic line goes, the code stays.
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


def drop_magics(cell: str) -> tuple[str, list[str]]:
    """The cell without IPython magics, and what was dropped."""
    dropped: list[str] = []
    lines = cell.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        if first.split()[0] in PYTHON_CELL_MAGICS:
            dropped.append(f"cell magic `{first}` (its code kept)")
            lines = lines[1:]
        else:
            dropped.append(f"cell `{first}` (not Python)")
            return "", dropped
    kept = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("%", "!")):
            dropped.append(f"`{stripped}`")
        else:
            kept.append(line)
    return "\n".join(kept), dropped


# (pattern, replacement, targets, what it does): regular expressions over the
# whole text, in this order.
IMPORT_RULES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (r"\breco_gym\b", "recogym", TARGETS, "`reco_gym` -> `recogym`"),
    (r"^([ \t]*)from agents(\.abstract)? import", r"\1from recogym.agents\2 import", TARGETS,
     "`from agents[.abstract] import` -> `from recogym.agents[.abstract] import`"),
    (r"^([ \t]*)from tensorflow\.keras\.utils import to_categorical[ \t]*$",
     r"\1from recogym.agents.organic_count import to_categorical", TARGETS,
     ("`from tensorflow.keras.utils import to_categorical` -> "
      "`from recogym.agents.organic_count import to_categorical`")),
    (r"^([ \t]*)from IPython\.display import display, HTML[ \t]*$", r"\1display = _out", TARGETS,
     "`from IPython.display import display, HTML` -> `display = _out`"),
    (r"multi_class ?= ?'multinomial', ?", "", TARGETS,
     ("`LogisticRegression(multi_class='multinomial', ...)` -> `LogisticRegression(...)` (scikit-learn 1.8 "
      "removed the argument; multinomial is lbfgs' default since 1.5, so the model is the same)")),
    (r"^([ \t]*)import gym, recogym[ \t]*$", r"\1import recogym", ("recogym",),
     "`import gym, recogym` -> `import recogym`"),
    (r"^([ \t]*)import gym[ \t]*$", r"\1import recogym", ("recogym",), "`import gym` -> `import recogym`"),
    (r"\bgym\.make\(", "recogym.make(", ("recogym",), "`gym.make(` -> `recogym.make(`"),
)


def apply_import_rules(text: str, target: str) -> tuple[str, list[str]]:
    applied = []
    for pattern, replacement, targets, what in IMPORT_RULES:
        if target not in targets:
            continue
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count:
            applied.append(f"{what} ({count}x)")
    return text, applied


def show_last_expression(cell: str) -> str:
    """Wrap a cell's last bare expression in ``_out(...)``, as Jupyter shows it.

    A trailing ``;`` suppresses the display in Jupyter, and here too.
    """
    if not cell.strip():
        return cell
    tree = ast.parse(cell)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return cell
    node = tree.body[-1]
    lines = cell.split("\n")
    assert node.end_lineno is not None and node.end_col_offset is not None
    tail = lines[node.end_lineno - 1][node.end_col_offset:]
    if tail.strip().startswith(";"):
        return cell
    start, end = node.lineno - 1, node.end_lineno - 1
    before = lines[start][: node.col_offset]
    lines[end] = lines[end][: node.end_col_offset] + ")" + lines[end][node.end_col_offset:]
    lines[start] = before + "_out(" + lines[start][node.col_offset:]
    return "\n".join(lines)


def apply_substitutions(text: str, source: Source) -> str:
    for entry in source.substitutions:
        old, new = entry[0], entry[1]
        count = int(entry[2]) if len(entry) > 2 else 1
        found = text.count(old)
        if found != count:
            raise ExtractionError(
                f"{source.stem}: substitution {old!r} -> {new!r} matches {found} times, expected {count}"
            )
        text = text.replace(old, new)
    return text


HEADER_HELPERS = '''\
def _out(value):
    """Print what Jupyter displays for a cell's last expression (Out[n])."""
    if value is None:
        return
    text = value.to_string() if hasattr(value, "to_string") else repr(value)
    if " at 0x" not in text:  # figures, axes, artists: nothing to read
        print(text)
'''

MATPLOTLIB_HEADER = '''\
import matplotlib
matplotlib.use("Agg")  # no display
import matplotlib.pyplot
matplotlib.pyplot.show = lambda *args, **kwargs: None  # plt.show() is a no-op
'''


def convert(source: Source, data: bytes, target: str, commit: str) -> str:
    """The script for ``source`` (its original bytes ``data``) and ``target``."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    changes: list[str] = []
    if source.kind == "notebook":
        blocks = []
        for index, cell in notebook_cells(data):
            code, dropped = drop_magics(cell)
            changes += [f"cell {index}: dropped {d}" for d in dropped]
            if not code.strip():
                continue
            try:
                code = show_last_expression(code)
            except SyntaxError as error:
                raise ExtractionError(f"{source.stem}: cell {index} is not Python: {error}") from None
            blocks.append(f"# In[cell {index}]:\n{code.rstrip()}\n")
        body = "\n\n".join(blocks)
    else:
        body = data.decode()
    body, applied = apply_import_rules(body, target)
    changes += [f"rewrite: {a}" for a in applied]
    body = apply_substitutions(body, source)
    changes += [f"substituted: {e[0]!r} -> {e[1]!r}" + (f" ({e[2]}x)" if len(e) > 2 else "")
                for e in source.substitutions]
    uses_matplotlib = "matplotlib" in body or "plot_" in body
    where = f"removed in {source.removed_in}" if source.removed_in else "on master"
    header = [
        f"# Generated by tests/compat/extract_notebooks.py (target: {target}); do not edit.",
        f"# Source: {REPOSITORY}, {source.path!r}, at commit {commit} ({where}).",
        LICENCE_NOTICE,
    ]
    if source.why:
        header.append(f"# Note: {source.why}.")
    header.append("# Changes:")
    header += [f"#   - {change}" for change in changes]
    if uses_matplotlib:
        header.append("#   - matplotlib: the Agg backend, plt.show() a no-op (header below)")
    header.append("")
    prefix = [HEADER_HELPERS]
    if uses_matplotlib:
        prefix.append(MATPLOTLIB_HEADER)
    script = "\n".join(header) + "\n" + "\n".join(prefix) + "\n\n" + body.rstrip() + "\n"
    with warnings.catch_warnings():  # the notebooks' own "\p" escapes are theirs to keep
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        compile(script, source.stem, "exec")  # fail here, not in the test, on broken output
    return script


def script_digest(text: str) -> str:
    """The digest of a script's code: its comment-only and blank lines (the
    header's wording) left out."""
    code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return hashlib.sha256("\n".join(code).encode()).hexdigest()


def output_path(source: Source, out_dir: Path | None) -> Path:
    """Where ``source``'s script goes: notebooks/ or scripts/ under tests/compat,
    or flat under ``out_dir``."""
    if out_dir is not None:
        return out_dir / ("scripts" if source.kind == "script" else "notebooks") / f"{source.stem}.py"
    return HERE / ("scripts" if source.kind == "script" else "notebooks") / f"{source.stem}.py"


def extract(
    target: str = "recogym",
    out_dir: Path | None = None,
    git_dir: Path = DEFAULT_GIT_DIR,
    checkout: Path | None = DEFAULT_CHECKOUT,
    stems: list[str] | None = None,
) -> dict[str, Path]:
    """Write the scripts (and sim_test's entries) and return stem -> path."""
    written = {}
    for stem in stems or list(SOURCES):
        if stem not in SOURCES:
            raise ValueError(f"stems: unknown source {stem!r}; known: {sorted(SOURCES)}")
        source = SOURCES[stem]
        commit = resolve_commit(source.commit, git_dir)
        text = convert(source, read_source(source.path, commit, git_dir, checkout), target, commit)
        path = output_path(source, out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written[stem] = path
        if stem == "sim_test":
            entries = path.parent / "sim_test_entries"
            entries.mkdir(exist_ok=True)
            for entry in SIM_TEST_ENTRIES:
                code = read_source(entry, MASTER, git_dir, checkout).decode()
                code, _ = apply_import_rules(code, target)
                note = (f"# Generated by tests/compat/extract_notebooks.py; do not edit.\n"
                        f"# Source: {REPOSITORY}, {entry!r}, at commit {MASTER}.\n{LICENCE_NOTICE}\n\n")
                (entries / Path(entry).name).write_text(note + code)
    return written


# ------------------------------------------- running a script (test and fixtures)

# The prelude each script runs under: ``python -c PRELUDE SCRIPT RECORD MODE
# [ARGS...]``, with the working directory a fresh temporary directory.
#
# * MODE ``legacy`` sets ``recogym.env_1_args['rng'] = recogym.env_0_args['rng']
#   = 'legacy'`` before the script runs: 0.1.3.0's random streams.  This is the
#   one non-import change to the code, and only in that mode.  MODE ``default``
#   runs the script as it is.
# * MODE ``original`` is for RecoGym 0.1.3.0 itself (the fixtures), on the
#   numpy and gym its venv has: it restores ``numpy.float`` (an alias of
#   ``float`` that 0.1.3.0 uses and numpy 1.24 removed) and makes ``gym.make``
#   return the env itself (gym 0.21's OrderEnforcing wrapper refuses
#   0.1.3.0's own ``env.reset(user_id)``).
# * The script's own ``print`` (a module global, so not the library's) also
#   records what it printed, which the test compares with 0.1.3.0's.
PRELUDE = r"""
import builtins, json, runpy, sys
script, record, mode, *args = sys.argv[1:]
if mode == "legacy":
    import recogym
    recogym.env_1_args["rng"] = recogym.env_0_args["rng"] = "legacy"
if mode == "original":
    import numpy, gym
    numpy.float = float
    _make = gym.make
    gym.make = lambda *a, **k: _make(*a, **k).unwrapped
printed = []
def print(*values, sep=" ", end="\n", file=None, flush=False):
    builtins.print(*values, sep=sep, end=end, file=file, flush=flush)
    if file is None or file is sys.stdout:
        printed.append((" " if sep is None else sep).join(map(str, values)) + ("\n" if end is None else end))
sys.argv = [script, *args]
try:
    runpy.run_path(script, init_globals={"print": print}, run_name="__main__")
finally:
    with open(record, "w") as out:
        json.dump({"printed": "".join(printed)}, out)
"""
MODES = ("default", "legacy", "original")


@dataclasses.dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    printed: str  # what the script itself printed
    seconds: float  # wall time
    cpu_seconds: float  # user + system time of the process and its children


def run_script(
    python: str, script: Path, mode: str, cwd: Path, argv: tuple[str, ...] = (), timeout: float = 600
) -> Run:
    """Run ``script`` under the prelude with interpreter ``python``."""
    import resource
    import time

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    record = cwd / "printed.json"
    env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", PRELUDE, str(script), str(record), mode, *argv],
        check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    printed = json.loads(record.read_text())["printed"] if record.exists() else ""
    return Run(done.returncode, done.stdout, done.stderr, printed, seconds, cpu)


def prepare_workdir(source: Source, script: Path, cwd: Path) -> None:
    """What a script finds in its working directory: sim_test.py its entries."""
    if source.stem == "sim_test":
        import shutil

        shutil.copytree(script.parent / "sim_test_entries", cwd / "entries", dirs_exist_ok=True)


# A number as printed: not part of a word (``float64``, ``0x1f``) and not a
# duration (``0.5s``); pandas' ``<NA>`` and ``NaN`` both read as NaN.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|\b(?:nan|NaN|inf)\b|<NA>")


def printed_numbers(printed: str, volatile: tuple[str, ...] = ()) -> list[tuple[str, list[float]]]:
    """(line, its numbers) for each printed line that has numbers, after
    removing the text that ``volatile`` patterns match (clock times)."""
    rows = []
    for line in printed.splitlines():
        for pattern in volatile:
            line = re.sub(pattern, "", line)
        numbers = [float("nan") if token == "<NA>" else float(token) for token in NUMBER.findall(line)]
        if numbers:
            rows.append((line, numbers))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=TARGETS, default="recogym")
    parser.add_argument("--out", type=Path, default=None,
                        help="write under OUT/notebooks and OUT/scripts (default: tests/compat/)")
    parser.add_argument("--git-dir", type=Path, default=DEFAULT_GIT_DIR)
    parser.add_argument("--checkout", type=Path, default=DEFAULT_CHECKOUT)
    parser.add_argument("--only", nargs="*", default=None, help="extract only these stems")
    parser.add_argument("--list", action="store_true", help="list the sources and exit")
    args = parser.parse_args(argv)
    if args.list:
        for source in SOURCES.values():
            where = f"removed in {source.removed_in[:7]}" if source.removed_in else "master"
            print(f"{source.stem:48} {source.kind:9} {where:18} {source.path}")
        for name, why in NOT_EXTRACTED.items():
            print(f"{'(not extracted)':48} {name}: {why}")
        return 0
    try:
        written = extract(args.target, args.out, args.git_dir, args.checkout, args.only)
    except ExtractionError as error:
        print(f"extract_notebooks: {error}", file=sys.stderr)
        return 1
    for stem, path in written.items():
        print(f"{stem}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
