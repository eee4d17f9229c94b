"""The ``recogym`` command.

Subcommands
-----------
``recogym demo``
    The getting-started walkthrough and a random/popularity comparison.
``recogym run --agents random,popularity [--set num_products=100 ...] [--json|--csv]``
    ``test_agent`` for each named agent, all on the same offline and online users.
``recogym logs --users N --out logs.parquet``
    Simulated logs written to Parquet with :func:`recogym.write_logs`.
``recogym sweep --config sweep.toml --out results.parquet``
    :func:`recogym.sweep.sweep` over a grid read from TOML (:data:`SWEEP_FORMAT`).
``recogym ope --logs logs.parquet --agent NAME``
    The agent, trained on fresh users of the logs' env, evaluated off-policy
    on the logs (:func:`recogym.evaluate_policy`, with the truth).
``recogym leaderboard [--folder DIR]``
    0.1.3.0's competition (:data:`LEADERBOARD_FORMAT`).

Every failure, whether argparse, the library or an agent finds it, ends the
command with one ``recogym: error: ...`` line on stderr and exit status 2. A
table goes to stdout as text, or with ``--json``/``--csv`` as records that
each carry the command's config, seed and the recogym version.
"""
from __future__ import annotations

import argparse
import copy
import difflib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import pandas as pd
from ._progress import tqdm

from ._checks import check_known_keys, check_output_path
from ._version import __version__
from .agents import registry
from .agents.registry import AGENTS

__all__ = ["AGENTS", "LEADERBOARD_FORMAT", "SWEEP_FORMAT", "build_parser", "main", "make_agent",
           "parse_setting"]

#: The sweep's TOML file, as ``recogym sweep --help`` shows it.
SWEEP_FORMAT = """\
the TOML file:

  [sweep]                           # required; no other keys
  model = "reco-gym-v1"             # optional, the default
  agents = ["random", "popularity"] # names from `recogym run --help`
  offline_users = [100, 1000]       # an int or a list
  online_users = 1000               # an int
  seeds = [1, 2]                    # an int or a list

  [grid]                            # optional: env args, each a list of values
  num_products = [10, 100]

Unknown tables and keys are errors. One Parquet file of results is written,
one row per (env args, agent, offline_users, seed)."""

#: The leaderboard's folder of entries, as ``recogym leaderboard --help`` shows it.
LEADERBOARD_FORMAT = """\
Every entry is scored as 0.1.3.0's competition_score scores one: reco-gym-v1
with --products, --latent-factors, --flips and --sigma-omega; the logging
policy OrganicUserEventCounterAgent (select_randomly, epsilon --log-epsilon);
test_agent with --organic-users and --offline-users training users and
--online-users scored (one epoch, epoch_with_random_reset). Agents are ranked
by CTR; equal CTRs share a rank.

Each *.py file of --folder holds entries, in 0.1.3.0's form or recogym's:
  agent = build_agent_init(name, AgentClass, args)   one entry per name;
      built as AgentClass(Configuration({**args, num_products, **env args}))
  TestAgent and test_agent_args                      one entry (sim_test.py's)
  agent = an agent object, or agent_class and, optionally, agent_args (a dict,
      completed with num_products)                   one entry, named `name`
      if the file defines it, else after the file
Each file is loaded and each entry run on its own: one that fails (at import,
in its definitions or while acting) is listed with its error, the others are
ranked, and the command exits with status 2. A file's changes to the agents'
*_args dicts stay its own. Without --folder, the built-in agents whose extras
are installed are ranked.

sim_test.py's flags are accepted: --P, --UO, --U, --Utest, --seed, --K, --F,
--log_epsilon, --sigma_omega, --entries_dir, --with_cache (its defaults were
--P 100 --UO 100 --U 100 --Utest 1000 --seed 100 --K 20 --F 20
--log_epsilon 0.05 --sigma_omega 0.01). --with_cache False means False here
(sim_test.py read any value as True). The table goes to stdout (--csv for
sim_test.py's leaderboard.csv)."""

_DEFAULT_SEED = 42


def make_agent(name: str, env_args: Mapping[str, Any]) -> Any:
    """The agent called ``name`` in :data:`AGENTS`, for an env with ``env_args``.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    """
    return registry.make_agent(name, env_args["num_products"], int(env_args.get("slate_size") or 1))


def parse_setting(text: str) -> tuple[str, Any]:
    """``key=value`` as ``(key, value)``, the value read as a bool
    (true/false), an int, a float or, failing those, a string."""
    key, separator, raw = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    else:
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                continue
    return key, value


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (not None, [] or a flag's False) and keeps the
    epilogs' layout."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, []) or action.nargs == 0 or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one ``recogym: error:`` line,
    with the closest choice to a mistyped one. Subparsers are of this class
    too (argparse builds them with the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("recogym").strip()
        see = f"recogym {command} --help" if command else "recogym --help"
        self.exit(2, f"recogym: error: {' '.join(message.split())} (see {see})\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            nearest = difflib.get_close_matches(str(value), [str(choice) for choice in action.choices], n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise argparse.ArgumentError(action, f"invalid choice {value!r}{hint} Choose from "
                                                 f"{', '.join(map(str, action.choices))}")


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def _probability(text: str) -> float:
    value = _non_negative_real(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _agent_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected agent names, got {text!r}; choose from {', '.join(AGENTS)}")
    for name in names:
        if name not in AGENTS:
            nearest = difflib.get_close_matches(name, AGENTS, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise argparse.ArgumentTypeError(f"unknown agent {name!r}{hint} Choose from {', '.join(AGENTS)}")
    return names


def _add_env_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="reco-gym-v1", choices=["reco-gym-v1", "reco-gym-v0"],
                        help="the model")
    parser.add_argument("--seed", type=_non_negative,
                        help=f"the env's random_seed (default: {_DEFAULT_SEED}); "
                             "the same as --set random_seed=N, and refused with a different one")
    parser.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                        metavar="KEY=VALUE",
                        help="an env arg of the model, such as num_products=100 (read as an int, float, "
                             "true/false or string); repeatable; unknown keys are errors")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the table as a JSON list of records, each with the config, seed and version")
    output.add_argument("--csv", action="store_true",
                        help="print the table as CSV, each row with the config, seed and version")


def _add_user_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offline-users", type=_non_negative, default=1000,
                        help="users of the logging policy each agent trains on")
    parser.add_argument("--online-users", type=_non_negative, default=1000,
                        help="users each agent is tested on, the same for every agent")


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser, one subparser per subcommand."""
    parser = _Parser(prog="recogym", description="Fast, faithful RecoGym: simulate, train, evaluate and rank "
                                                 "recommendation agents.",
                     epilog="Run `recogym COMMAND --help` for a command's options. Every failure is one "
                            "`recogym: error:` line on stderr, with exit status 2.")
    parser.add_argument("--version", action="version", version=f"recogym {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="the getting-started walkthrough and a random/popularity comparison",
                               description="One user step by step under the logging policy, then RandomAgent "
                                           "and PopularityAgent through test_agent.")
    demo.add_argument("--seed", type=_non_negative, default=_DEFAULT_SEED, help="the env's random_seed")
    _add_user_options(demo)

    run = commands.add_parser("run", help="test_agent for each agent on the same users",
                              description="Train each agent on the same offline users and test it on the same "
                                          "online users; print the CTR with its 95% interval.")
    _add_env_options(run)
    run.add_argument("--agents", type=_agent_names, default="random,popularity",
                     help=f"comma-separated, from: {', '.join(AGENTS)}")
    _add_user_options(run)
    run.add_argument("--metric", choices=("ctr", "conversion"), default="ctr",
                     help="what to score: the CTR, or the conversion rate per impression (needs "
                          "--set with_conversions=true)")
    _add_output_options(run)
    run.add_argument("--plot", type=Path,
                     help="also draw the agents' CTR intervals as a bar chart to this image "
                          "(format from the extension: png, svg, pdf or jpg)")

    logs = commands.add_parser("logs", help="write simulated logs to a Parquet file",
                               description="Simulate the logs of a uniform logging policy and write them to "
                                           "a Parquet file (or, with --dataset, a directory of parts) that "
                                           "says how to reproduce itself.")
    _add_env_options(logs)
    logs.add_argument("--users", type=_non_negative, required=True, help="users to simulate, whole timelines")
    logs.add_argument("--out", type=Path, required=True,
                      help="the Parquet file to write (a directory with --dataset); written atomically")
    logs.add_argument("--workers", type=_positive, default=1,
                      help="processes simulating chunks of users; the logs are the same whatever the number")
    logs.add_argument("--dataset", action="store_true",
                      help="write a Parquet dataset into the directory --out: a part per chunk, written by its worker")
    logs.add_argument("--resume", action="store_true", help="with --dataset, finish the dataset an interrupted run began")
    logs.add_argument("--heatmap", type=Path,
                      help="also draw the logging policy's actions per last viewed product to this image "
                           "(format from the extension: png, svg, pdf or jpg)")
    logs.add_argument("--heatmap-normalize", action="store_true",
                      help="with --heatmap, show each row as shares of its last viewed product's impressions")

    sweep = commands.add_parser("sweep", help="a grid of env args x agents x training sizes x seeds from TOML",
                                description="Run recogym.sweep over the grid of a TOML file and write one "
                                            "result per cell to Parquet, checkpointing as it goes.",
                                epilog=SWEEP_FORMAT)
    sweep.add_argument("--config", type=Path, required=True, help="the TOML file (format below)")
    sweep.add_argument("--out", type=Path, required=True, help="the results' Parquet file")
    sweep.add_argument("--resume", action="store_true", help="continue from the checkpoint of an interrupted run")
    sweep.add_argument("--plot", type=Path,
                       help="also plot CTR against training users to this image, one per env config "
                            "(format from the extension: png, svg, pdf or jpg)")
    sweep.add_argument("--dask", metavar="ADDRESS", help="run on this dask.distributed scheduler")
    sweep.add_argument("--workers", type=_positive, default=1, help="local worker processes (without --dask)")

    ope = commands.add_parser("ope", help="off-policy estimates of an agent's CTR on a log file",
                              description="Train the agent on fresh users of the logs' env, then estimate its CTR "
                                          "on the logs with IPS, SNIPS, DM and DR, beside the truth; on slate "
                                          "logs (--set slate_size=k), its clicks per impression with SIPS, "
                                          "IIPS and RIPS.")
    ope.add_argument("--logs", type=Path, required=True, help="a Parquet file of `recogym logs`")
    ope.add_argument("--agent", required=True, choices=list(AGENTS), metavar="AGENT",
                     help=f"the target policy, one of: {', '.join(AGENTS)}")
    ope.add_argument("--train-users", type=_non_negative, default=1000,
                     help="fresh users (after the logged ones) the agent trains on")
    _add_output_options(ope)

    leaderboard = commands.add_parser("leaderboard", help="rank agents under 0.1.3.0's competition settings",
                                      description="0.1.3.0's competition (competition_score, sim_test.py): every "
                                                  "agent trained on logs of the same logging policy and scored "
                                                  "online on the same users, ranked by CTR.",
                                      epilog=LEADERBOARD_FORMAT)
    leaderboard.add_argument("--folder", "--entries_dir", type=Path, help="a folder of agent files (format below)")
    leaderboard.add_argument("--products", "--P", type=_positive, default=10, help="num_products of the env")
    leaderboard.add_argument("--seed", type=_non_negative, default=_DEFAULT_SEED, help="the env's random_seed")
    leaderboard.add_argument("--organic-users", "--UO", type=_non_negative, default=100,
                             help="organic-only users in the training logs")
    leaderboard.add_argument("--offline-users", "--U", type=_non_negative, default=1000,
                             help="users of the logging policy each agent trains on")
    leaderboard.add_argument("--online-users", "--Utest", type=_non_negative, default=1000,
                             help="users each agent is scored on")
    leaderboard.add_argument("--latent-factors", "--K", type=_positive, default=5,
                             help="K, the env's number of latent factors")
    leaderboard.add_argument("--flips", "--F", type=_non_negative, default=0,
                             help="number_of_flips: how different bandit behaviour is from organic")
    leaderboard.add_argument("--sigma-omega", "--sigma_omega", type=_non_negative_real, default=0.1,
                             help="sigma_omega, the drift of a user's latent tastes")
    leaderboard.add_argument("--log-epsilon", "--log_epsilon", type=_probability, default=0.1,
                             help="epsilon of the OrganicUserEventCounterAgent logging policy")
    leaderboard.add_argument("--with-cache", "--with_cache", type=_boolean, nargs="?", const=True, default=False,
                             metavar="BOOL", help="cache the training logs under ~/.reco-gym/cache, as "
                                                  "test_agent's with_cache (alone, or with true/false)")
    leaderboard.add_argument("--rng", choices=["default", "legacy"], default="default",
                             help="the env's random numbers; legacy draws as 0.1.3.0 did")
    _add_output_options(leaderboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command, as the ``recogym`` console script does.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``recogym``; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, and when stdout is closed early (``recogym demo | head``).

    Raises
    ------
    SystemExit
        With status 2 on any failure (a bad argument, a missing or unreadable
        file, a missing extra, a size too large to allocate, a failed
        leaderboard entry), after one ``recogym: error: ...`` line on stderr:
        a command-line user needs the reason, not a traceback.
    """
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], None]] = {
        "demo": _demo, "run": _run, "logs": _logs, "sweep": _sweep, "ope": _ope, "leaderboard": _leaderboard,
    }
    try:
        _check_outputs(arguments)
        handlers[arguments.command](arguments)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): what it did not read is not wanted.
        # Point stdout at devnull so the interpreter's final flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as error:
        _fail(error)
    return 0


class _EntriesFailed(Exception):
    """Some leaderboard entries failed; the others were ranked."""


_PLAIN_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError, _EntriesFailed)


def _fail(error: BaseException) -> NoReturn:
    message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
    if isinstance(error, MemoryError):
        message = f"not enough memory: {message or 'an allocation failed'}"
    elif not isinstance(error, _PLAIN_ERRORS):
        message = f"{type(error).__name__}: {message}"
    sys.stderr.write(f"recogym: error: {' '.join(message.split())}\n")
    raise SystemExit(2)


def _check_outputs(arguments: argparse.Namespace) -> None:
    """Every file the command will write can be written, before any work."""
    out = getattr(arguments, "out", None)
    # A dataset's --out is a directory, which an interrupted run leaves behind.
    if out is not None and not (getattr(arguments, "dataset", False) and out.is_dir()):
        check_output_path("--out", out)
    for option in ("plot", "heatmap"):
        path = getattr(arguments, option, None)
        if path is not None:
            from .plots import IMAGE_FORMATS

            check_output_path(f"--{option}", path, IMAGE_FORMATS)
            if importlib.util.find_spec("matplotlib") is None:
                raise ImportError(f"--{option} needs matplotlib: pip install recogym[plot]")


def _env_args(arguments: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` env args, each a known arg of ``--env``, with the seed:
    ``--seed`` and ``--set random_seed`` are one setting, so two different
    values are refused rather than one silently dropped."""
    from .params import OPTIONAL_ARGS, defaults_for

    settings = dict(arguments.settings)
    check_known_keys(f"--set (env args of {arguments.env})", settings,
                     {*defaults_for(arguments.env), *OPTIONAL_ARGS})
    if arguments.seed is not None and settings.get("random_seed", arguments.seed) != arguments.seed:
        raise ValueError(f"--seed {arguments.seed} and --set random_seed={settings['random_seed']} disagree; "
                         f"give one of them")
    seed = settings.get("random_seed", _DEFAULT_SEED if arguments.seed is None else arguments.seed)
    return {**settings, "random_seed": seed}


def _make_env(model: str, env_args: Mapping[str, Any]) -> Any:
    from .envs.classic import make

    env = make(model)
    env.init_gym(dict(env_args))
    return env


def _print_table(arguments: argparse.Namespace, table: pd.DataFrame, text: str, config: Mapping[str, Any],
                 seed: int) -> None:
    """``table`` as ``text``, or with ``--json``/``--csv`` as records that
    each carry ``config``, ``seed`` and the recogym version, so a record
    read alone says what produced it."""
    if not (arguments.json or arguments.csv):
        print(text)
        return
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    context = {"config": dict(config), "seed": seed, "recogym_version": __version__}
    if arguments.json:
        print(json.dumps([{**record, **context} for record in records], default=str))
    else:
        print(table.assign(config=json.dumps(context["config"], sort_keys=True, default=str), seed=seed,
                           recogym_version=__version__).to_csv(index=False), end="")


def _demo(arguments: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(arguments.seed, arguments.offline_users, arguments.online_users)


def _run(arguments: argparse.Namespace) -> None:
    from .evaluation.online import test_agent

    env_args = _env_args(arguments)
    env = _make_env(arguments.env, env_args)
    rows = []
    for name in tqdm(arguments.agents, desc="Agents", disable=None, leave=False):
        # An env with slates (--set slate_size=k) is served rankings of k products.
        result = test_agent(copy.deepcopy(env), make_agent(name, {"num_products": env.num_products,
                                                                  "slate_size": env.slate_size}),
                            arguments.offline_users, arguments.online_users, metric=arguments.metric)
        row = {"agent": name, "median": result[0], "q0.025": result[1], "q0.975": result[2],
               "clicks": result.clicks, "impressions": result.impressions, "seconds": result.seconds}
        if result.conversions is not None:
            row["conversions"] = result.conversions
        if result.clicks_per_position is not None:
            row["clicks_per_impression"] = result.clicks_per_impression
            row.update({f"clicks@{j + 1}": count for j, count in enumerate(result.clicks_per_position)})
        rows.append(row)
    table = pd.DataFrame(rows)
    config = {"command": "run", "env": arguments.env, "env_args": env_args,
              "offline_users": arguments.offline_users, "online_users": arguments.online_users,
              **({"metric": arguments.metric} if arguments.metric != "ctr" else {})}
    _print_table(arguments, table, _ctr_table(table), config, env_args["random_seed"])
    if arguments.plot is not None:
        from .plots import plot_ab

        plot_ab(table, path=arguments.plot,
                title=f"{arguments.env}, P={env.num_products}, {arguments.offline_users} offline and "
                      f"{arguments.online_users} online users, seed {env_args['random_seed']}")


def _ctr_table(table: pd.DataFrame) -> str:
    shown = table.astype(object).where(table.notna(), "")
    for column in ("median", "q0.025", "q0.975"):
        shown[column] = shown[column].map(lambda value: value if value == "" else f"{value:.4%}")
    if "seconds" in shown:
        shown["seconds"] = shown["seconds"].map(lambda value: value if value == "" else f"{value:.2f}")
    text: str = shown.to_string(index=False)
    return text


def _logs(arguments: argparse.Namespace) -> None:
    from .io.parquet import write_dataset, write_logs

    if arguments.heatmap_normalize and arguments.heatmap is None:
        raise ValueError("--heatmap-normalize goes with --heatmap PATH")
    if arguments.dataset:
        path = write_dataset(arguments.out, _env_args(arguments), arguments.users, model=arguments.env,
                             workers=arguments.workers, resume=arguments.resume, progress=True)
    elif arguments.resume:
        raise ValueError("--resume finishes a dataset: pass it with --dataset")
    else:
        path = write_logs(arguments.out, _env_args(arguments), arguments.users, model=arguments.env,
                          workers=arguments.workers, progress=True)
    print(f"wrote the logs of {arguments.users} users to {path}")
    if arguments.heatmap is not None:
        from .io.parquet import read_logs
        from .plots import plot_action_heatmap

        logs, metadata = read_logs(path)
        num_products = metadata["env_args"]["num_products"]
        plot_action_heatmap(logs, num_products, normalize=arguments.heatmap_normalize, path=arguments.heatmap,
                            title=f"{arguments.env}, P={num_products}, {arguments.users} users, seed "
                                  f"{metadata['random_seed']}: uniform logging policy")


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError("reading TOML on Python 3.10 needs tomli: pip install tomli") from None
    with open(path, "rb") as file:
        try:
            config: dict[str, Any] = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"--config {path}: {error}") from None
    return config


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _sweep_config(path: Path) -> dict[str, Any]:
    """What the TOML file at ``path`` asks for (:data:`SWEEP_FORMAT`):
    ``sweep``'s keyword arguments, with ``agents`` as names. Unknown tables,
    keys, env args and agents are errors, each with the closest known name."""
    from .envs.classic import ENV_IDS
    from .params import OPTIONAL_ARGS, defaults_for

    config = _read_toml(path)
    check_known_keys(f"--config {path} (tables)", config, ("sweep", "grid"))
    settings = config.get("sweep")
    if not isinstance(settings, dict):
        raise ValueError(f"--config {path}: needs a [sweep] table")
    check_known_keys(f"--config {path} [sweep]", settings,
                     ("model", "agents", "offline_users", "online_users", "seeds"))
    missing = [key for key in ("agents", "offline_users", "online_users", "seeds") if key not in settings]
    if missing:
        raise ValueError(f"--config {path}: [sweep] lacks {', '.join(missing)}")
    model = settings.get("model", "reco-gym-v1")
    if model not in ENV_IDS:
        raise ValueError(f"--config {path}: [sweep] model must be one of {', '.join(ENV_IDS)}, got {model!r}")
    grid = config.get("grid", {})
    if not isinstance(grid, dict):
        raise ValueError(f"--config {path}: [grid] must be a table of env args")
    check_known_keys(f"--config {path} [grid] (env args of {model})", grid,
                     {*defaults_for(model), *OPTIONAL_ARGS})
    names = _as_list(settings["agents"])
    check_known_keys(f"--config {path} [sweep] agents", [str(name) for name in names], AGENTS,
                     kind="agent")
    return {
        "env_args_grid": {key: _as_list(values) for key, values in grid.items()},
        "agents": names,
        "offline_users": _as_list(settings["offline_users"]),
        "online_users": settings["online_users"],
        "seeds": _as_list(settings["seeds"]),
        "model": model,
    }


def _sweep(arguments: argparse.Namespace) -> None:
    kwargs = _sweep_config(arguments.config)  # a bad file fails before any work
    fixed = [f"{'P' if key == 'num_products' else key}={values[0]}"
             for key, values in kwargs["env_args_grid"].items() if len(values) == 1]
    setup = ", ".join([kwargs["model"], *fixed, f"{kwargs['online_users']} online users",
                       f"seed{'s' if len(kwargs['seeds']) > 1 else ''} {', '.join(map(str, kwargs['seeds']))}"])
    client = None
    if arguments.dask:
        try:
            distributed = importlib.import_module("distributed")
        except ImportError:
            raise ImportError("--dask needs dask.distributed: pip install recogym[dask]") from None
        client = distributed.Client(arguments.dask)
    try:
        results, checkpoints = _run_sweeps(kwargs, arguments.out,
                                           None if client is None else client.get_executor(),
                                           arguments.workers, arguments.resume)
    finally:
        if client is not None:
            client.close()
    results.to_parquet(arguments.out)
    for checkpoint in checkpoints:  # the results hold them now; left behind, they would block the next run
        checkpoint.unlink(missing_ok=True)
    print(f"wrote {len(results)} results to {arguments.out}")
    if arguments.plot is not None:
        for path in _plot_sweep(results, arguments.plot, setup):
            print(f"plotted {path}")


def _run_sweeps(kwargs: dict[str, Any], out: Path, executor: Any, workers: int,
                resume: bool) -> tuple[pd.DataFrame, list[Path]]:
    """``sweep`` once per ``num_products`` of the grid, since an agent is
    built for one catalogue: the results, and the checkpoints (one per
    ``num_products``, beside ``out``)."""
    from .evaluation.sweep import sweep
    from .params import defaults_for

    grid, names = kwargs.pop("env_args_grid"), kwargs.pop("agents")
    products = grid.pop("num_products", [defaults_for(kwargs["model"])["num_products"]])
    frames, checkpoints = [], []
    for num_products in products:
        agents = {name: make_agent(name, {"num_products": num_products}) for name in names}
        checkpoints.append(out.with_name(f"{out.stem}.P{num_products}.checkpoint.parquet"))
        frame = sweep({**grid, "num_products": [num_products]}, agents, **kwargs, executor=executor,
                      workers=workers, checkpoint=checkpoints[-1], resume=resume)
        if "num_products" not in frame.columns:
            frame.insert(0, "num_products", num_products)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), checkpoints


def _plot_sweep(results: pd.DataFrame, path: Path, setup: str) -> list[Path]:
    """``plot_ctr_vs_training`` of each env config of ``results``: to ``path``
    for one config, else to ``path`` with the config in its name, such as
    ``ctr-num_products=10.png``; ``setup`` and the config are its title."""
    from .evaluation.sweep import RESULT_COLUMNS

    # By name: recogym.plots (and matplotlib) are optional at type-checking time too.
    plots = importlib.import_module(".plots", __package__)
    varying = [column for column in results.columns
               if column not in RESULT_COLUMNS and results[column].nunique(dropna=False) > 1]
    if not varying:
        plots.plot_ctr_vs_training(results, title=setup, path=path)
        return [path]
    written = []
    for values, config in results.groupby(varying, sort=False):
        label = "-".join(f"{name}={value}" for name, value in zip(varying, values))
        target = path.with_name(f"{path.stem}-{label}{path.suffix}")
        plots.plot_ctr_vs_training(config.drop(columns=varying), title=f"{setup}, {label.replace('-', ', ')}",
                                   path=target)
        written.append(target)
    return written


def _ope(arguments: argparse.Namespace) -> None:
    from .evaluation.ope import evaluate_policy
    from .io.parquet import read_logs

    logs, metadata = read_logs(arguments.logs)
    env = _make_env(metadata["model"], metadata["env_args"])
    agent = make_agent(arguments.agent, {"num_products": env.num_products, "slate_size": env.slate_size})
    # Train on users after the logged ones, so the target never saw the logs' users.
    first_user = metadata["num_users"] + metadata["num_organic_users"]
    agent.train_logs(env.simulate(arguments.train_users, first_user=first_user))
    truth_env = env if metadata.get("rng", "default") == "default" else None
    if logs.slate is not None:
        # Slate logs: the agent's rankings by SIPS, IIPS and RIPS (docs/slates.md).
        from .evaluation.slate_agents import evaluate_slate_agent

        truth_env = truth_env if metadata.get("policy") is None else None     # the truth replays uniform slates
        table = evaluate_slate_agent(logs, agent, truth_env)
    else:
        table = evaluate_policy(logs, agent, env=truth_env)
    config = {"command": "ope", "logs": str(arguments.logs), "agent": arguments.agent,
              "train_users": arguments.train_users, "env": metadata["model"], "env_args": metadata["env_args"]}
    text = (f"{arguments.agent} trained on {arguments.train_users} users, evaluated on {arguments.logs}\n"
            f"{table.to_string(index=False)}")
    _print_table(arguments, table, text, config, metadata["env_args"]["random_seed"])


def _leaderboard(arguments: argparse.Namespace) -> None:
    from .compat.competition import competition_env_args

    env_args = {"random_seed": arguments.seed, "num_products": arguments.products, "K": arguments.latent_factors,
                "number_of_flips": arguments.flips, "sigma_omega": arguments.sigma_omega, "rng": arguments.rng}
    try:  # bad settings fail here, once, rather than in every entry
        _make_env("reco-gym-v1", env_args)
    except ValueError as error:
        raise ValueError(f"the competition's env (--products, --latent-factors, --flips, --sigma-omega): "
                         f"{error}") from None
    competition_args = competition_env_args(arguments.products, arguments.seed, arguments.latent_factors,
                                            arguments.flips, arguments.log_epsilon, arguments.sigma_omega,
                                            {"rng": arguments.rng})
    if arguments.folder is not None:
        if not arguments.folder.is_dir():
            raise FileNotFoundError(f"--folder/--entries_dir {arguments.folder}: no such directory")
        files = sorted(arguments.folder.glob("*.py"))
        if not files:
            raise ValueError(f"--folder/--entries_dir {arguments.folder}: holds no agent files (*.py)")
        entries = [entry for path in files for entry in _file_entries(path)]
    else:
        entries = [_builtin_entry(entry) for entry in registry.available_agents()]
    rows = [_score_entry(entry, competition_args, arguments)
            for entry in tqdm(entries, desc="Agents", disable=None, leave=False)]
    table = pd.DataFrame(rows).sort_values("median", ascending=False, ignore_index=True, na_position="last")
    table = table.astype({"clicks": "Int64", "impressions": "Int64"})
    # Equal CTRs share the best of their ranks ("1, 1, 3"): the order within a tie means nothing.
    table.insert(0, "rank", table["median"].rank(method="min", ascending=False).astype("Int64"))
    config = {"command": "leaderboard", "folder": None if arguments.folder is None else str(arguments.folder),
              "env": "reco-gym-v1", "env_args": env_args, "organic_users": arguments.organic_users,
              "offline_users": arguments.offline_users, "online_users": arguments.online_users,
              "logging": f"OrganicUserEventCounterAgent(select_randomly=True, epsilon={arguments.log_epsilon})",
              "with_cache": arguments.with_cache}
    _print_table(arguments, table, _ctr_table(table), config, arguments.seed)
    failed = table[table["error"].notna()]
    if not failed.empty:
        raise _EntriesFailed(f"{len(failed)} of {len(table)} entries failed: "
                             + "; ".join(f"{row.agent}: {row.error}" for row in failed.itertuples()))


class _Entry(NamedTuple):
    """One agent of the leaderboard: its name, the file that defines it
    (empty for a built-in agent), and what builds it from the competition's
    env args."""

    name: str
    file: str
    build: Callable[[Mapping[str, Any]], Any]


def _builtin_entry(entry: registry.AgentEntry) -> _Entry:
    return _Entry(entry.name, "", lambda env_args: entry.build(env_args["num_products"]))


def _file_entries(path: Path) -> list[_Entry]:
    """The entries of one agent file. The file is run here, so a file that
    fails to load is still an entry (named after the file), one whose build
    raises its error."""
    try:
        with _agent_args_restored():
            module = _run_entry_code(lambda: _load_module(path))
        return _module_entries(module, path)
    except BaseException as error:  # noqa: BLE001 - re-raised by the build, as this entry's failure
        if isinstance(error, KeyboardInterrupt):
            raise
        failure = error

        def fail(env_args: Mapping[str, Any]) -> Any:
            raise failure

        return [_Entry(path.stem, path.name, fail)]


def _module_entries(module: Any, path: Path) -> list[_Entry]:
    """The entries an agent file's module defines (:data:`LEADERBOARD_FORMAT`)."""
    from .compat.competition import competition_agent
    from .compat.constants import AgentInit

    def built_as_competition(ctor: Any, args: Any, name: str) -> Callable[[Mapping[str, Any]], Any]:
        if not isinstance(args, Mapping):
            raise TypeError(f"{path}: the arguments of {name!r} must be a dict, got {args!r}")
        return lambda env_args: competition_agent(env_args, ctor, args, name)

    if hasattr(module, "TestAgent"):
        name = str(getattr(module, "name", path.stem))
        return [_Entry(name, path.name, built_as_competition(module.TestAgent, getattr(module, "test_agent_args", {}),
                                                             name))]
    agent = getattr(module, "agent", None)
    if isinstance(agent, Mapping):
        entries = []
        for name, init in agent.items():
            if not isinstance(init, Mapping) or AgentInit.CTOR not in init:
                raise TypeError(f"{path}: agent must be an agent or build_agent_init(name, class, args), got "
                                f"{agent!r}")
            entries.append(_Entry(str(name), path.name,
                                  built_as_competition(init[AgentInit.CTOR], init.get(AgentInit.DEF_ARGS, {}),
                                                       str(name))))
        if not entries:
            raise ValueError(f"{path}: agent is an empty dict")
        return entries
    name = str(getattr(module, "name", path.stem))
    if hasattr(module, "agent"):
        return [_Entry(name, path.name, lambda env_args: module.agent)]
    if hasattr(module, "agent_class"):
        return [_Entry(name, path.name, lambda env_args: module.agent_class(
            {**getattr(module, "agent_args", {}), "num_products": env_args["num_products"]}))]
    raise ValueError(f"{path}: defines neither 'agent', 'agent_class' nor 'TestAgent'")


def _agent_args_restored() -> Any:
    """A context in which an agent file may change the agents' ``*_args``
    dicts (0.1.3.0's entries set ``pytorch_mlr_args['n_epochs'] = 30``):
    their contents are put back afterwards, in place, so the next file
    starts from the defaults."""
    import contextlib

    from . import agents

    @contextlib.contextmanager
    def restored() -> Any:
        saved = {}
        for name in agents.__all__:
            if name.endswith("_args"):
                try:
                    value = getattr(agents, name)
                except ImportError:  # a name of an absent extra
                    continue
                if isinstance(value, dict):
                    saved[name] = (value, copy.deepcopy(value))
        try:
            yield
        finally:
            for value, contents in saved.values():
                value.clear()
                value.update(contents)

    return restored()


def _load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"recogym_entry_{path.stem}", path)
    assert spec is not None and spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_entry_code(call: Callable[[], Any]) -> Any:
    """``call()``, with anything it prints sent to stderr, where it cannot
    corrupt the table on stdout."""
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):
        return call()


def _score_entry(entry: _Entry, competition_args: Mapping[str, Any], arguments: argparse.Namespace) -> dict[str, Any]:
    """One row of the leaderboard: the entry's agent trained and scored as
    :func:`recogym.competition_score` does, or its error. Whatever the
    entry's code does, raising or calling ``sys.exit``, fails this entry only."""
    from .compat.competition import competition_test

    def score() -> dict[str, Any]:
        agent = entry.build(competition_args)
        if not callable(getattr(agent, "act", None)):
            raise TypeError(f"its agent is {agent!r}, of type {type(agent).__name__}, which has no act()")
        result = competition_test(competition_args, agent, arguments.organic_users, arguments.offline_users,
                                  arguments.online_users, arguments.with_cache)
        median, low, high = result
        return {"median": median, "q0.025": low, "q0.975": high, "clicks": result.clicks,
                "impressions": result.impressions, "seconds": result.seconds, "error": None}

    row: dict[str, Any] = {"agent": entry.name, **({"entry": entry.file} if arguments.folder is not None else {})}
    try:
        row.update(_run_entry_code(score))
    except BaseException as error:  # noqa: BLE001 - an entry's failure, SystemExit included, is its own
        if isinstance(error, KeyboardInterrupt):
            raise
        row.update({"median": float("nan"), "q0.025": float("nan"), "q0.975": float("nan"), "clicks": None,
                    "impressions": None, "seconds": float("nan"), "error": _describe(error)})
    return row


def _describe(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r})"
    return " ".join(f"{type(error).__name__}: {error}".split())


if __name__ == "__main__":
    sys.exit(main())
