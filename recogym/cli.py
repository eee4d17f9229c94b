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
    :func:`recogym.sweep.sweep` over a grid read from TOML::

        [sweep]
        model = "reco-gym-v1"             # optional, the default
        agents = ["random", "popularity"] # names of AGENTS
        offline_users = [100, 1000]       # an int or a list
        online_users = 1000
        seeds = [1, 2]                    # an int or a list

        [grid]                            # env args: each key takes a list of values
        num_products = [10, 100]

``recogym ope --logs logs.parquet --agent NAME``
    The agent, trained on fresh users of the logs' env, evaluated off-policy
    on the logs (:func:`recogym.evaluate_policy`, with the truth).
``recogym leaderboard [--folder DIR]``
    0.1.3.0's competition: agents trained on logs of
    ``UserPopularity(log_epsilon)`` and ranked by online CTR. Each ``*.py``
    file of ``DIR`` is one entry, defining either ``agent`` (an agent for
    ``--products`` products) or ``agent_class`` and, optionally,
    ``agent_args`` (a dict, completed with ``num_products``); ``name``, if
    defined, names the entry, else the file does. An agent without
    ``train_logs`` trains through ``train`` on the env's uniform logging
    policy instead, as the table's ``logging`` column says. Without
    ``--folder``, the built-in agents are ranked.

Errors in the arguments, whether argparse or the library finds them, end the
command with a one-line message and exit status 2.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
from tqdm.auto import tqdm

from .agents import registry
from .agents.registry import AGENTS

__all__ = ["AGENTS", "build_parser", "main", "make_agent", "parse_setting"]

def make_agent(name: str, env_args: Mapping[str, Any]) -> Any:
    """The agent called ``name`` in :data:`AGENTS`, for an env with ``env_args``.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    """
    return registry.make_agent(name, env_args["num_products"])


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


def _agent_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in AGENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown agent(s) {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(AGENTS)}")
    return names


def _add_env_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="reco-gym-v1", help="the env id (default: reco-gym-v1)")
    parser.add_argument("--seed", type=_non_negative, default=42, help="the env's random_seed")
    parser.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                        metavar="KEY=VALUE", help="an env arg (int, float, true/false or string); repeatable")


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="recogym", description="Fast, faithful RecoGym.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the getting-started walkthrough and a random/popularity comparison")
    demo.add_argument("--seed", type=_non_negative, default=42)
    demo.add_argument("--offline-users", type=_non_negative, default=1000)
    demo.add_argument("--online-users", type=_non_negative, default=1000)

    run = commands.add_parser("run", help="test_agent for each agent on the same users")
    _add_env_options(run)
    run.add_argument("--agents", type=_agent_names, default=["random", "popularity"],
                     help=f"comma-separated, from: {', '.join(AGENTS)}")
    run.add_argument("--offline-users", type=_non_negative, default=1000)
    run.add_argument("--online-users", type=_non_negative, default=1000)
    output = run.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the results as JSON records")
    output.add_argument("--csv", action="store_true", help="print the results as CSV")
    run.add_argument("--plot", type=Path, help="also draw the agents' CTR intervals as a bar chart to this PNG")

    logs = commands.add_parser("logs", help="write simulated logs to a Parquet file")
    _add_env_options(logs)
    logs.add_argument("--users", type=_non_negative, required=True)
    logs.add_argument("--out", type=Path, required=True)
    logs.add_argument("--workers", type=_positive, default=1)
    logs.add_argument("--heatmap", type=Path,
                      help="also draw the logging policy's actions per last viewed product to this PNG")

    sweep = commands.add_parser("sweep", help="a grid of env args x agents x training sizes x seeds from TOML")
    sweep.add_argument("--config", type=Path, required=True, help="the TOML file (see `recogym.cli`'s docstring)")
    sweep.add_argument("--out", type=Path, required=True, help="the results' Parquet file")
    sweep.add_argument("--resume", action="store_true", help="continue from the checkpoint of an interrupted run")
    sweep.add_argument("--plot", type=Path, help="also plot CTR against training users to this image")
    sweep.add_argument("--dask", metavar="ADDRESS", help="run on this dask.distributed scheduler")
    sweep.add_argument("--workers", type=_positive, default=1)

    ope = commands.add_parser("ope", help="off-policy estimates of an agent's CTR on a log file")
    ope.add_argument("--logs", type=Path, required=True)
    ope.add_argument("--agent", required=True, choices=list(AGENTS))
    ope.add_argument("--train-users", type=_non_negative, default=1000)

    leaderboard = commands.add_parser("leaderboard", help="rank agents under 0.1.3.0's competition settings")
    leaderboard.add_argument("--folder", type=Path, help="a folder of agent files (see `recogym.cli`'s docstring)")
    leaderboard.add_argument("--products", type=_positive, default=10)
    leaderboard.add_argument("--seed", type=_non_negative, default=42)
    leaderboard.add_argument("--organic-users", type=_non_negative, default=100)
    leaderboard.add_argument("--offline-users", type=_non_negative, default=1000)
    leaderboard.add_argument("--online-users", type=_non_negative, default=1000)
    leaderboard.add_argument("--log-epsilon", type=float, default=0.1,
                             help="epsilon of the UserPopularity logging policy")
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
        0 on success.

    Raises
    ------
    SystemExit
        With status 2 on bad arguments, whether argparse or the library finds
        them (a bad value, a missing or unreadable file, a missing extra),
        after one ``recogym: error: ...`` line on stderr: a command-line user
        needs the reason, not a traceback.
    """
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], None]] = {
        "demo": _demo, "run": _run, "logs": _logs, "sweep": _sweep, "ope": _ope, "leaderboard": _leaderboard,
    }
    try:
        handlers[arguments.command](arguments)
    except (ValueError, TypeError, KeyError, OSError, ImportError) as error:
        _fail(parser, error)
    return 0


def _fail(parser: argparse.ArgumentParser, error: BaseException) -> NoReturn:
    message = " ".join(str(error.args[0] if isinstance(error, KeyError) and error.args else error).split())
    parser.exit(2, f"recogym: error: {message}\n")


def _env_args(arguments: argparse.Namespace) -> dict[str, Any]:
    return {**dict(arguments.settings), "random_seed": arguments.seed}


def _make_env(model: str, env_args: Mapping[str, Any]) -> Any:
    from .envs.classic import make

    env = make(model)
    env.init_gym(dict(env_args))
    return env


def _demo(arguments: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(arguments.seed, arguments.offline_users, arguments.online_users)


def _run(arguments: argparse.Namespace) -> None:
    from .evaluation.online import test_agent

    env = _make_env(arguments.env, _env_args(arguments))
    env_args = {"num_products": env.num_products}
    rows = []
    for name in tqdm(arguments.agents, desc="Agents", disable=None, leave=False):
        result = test_agent(copy.deepcopy(env), make_agent(name, env_args), arguments.offline_users,
                            arguments.online_users)
        rows.append({"agent": name, "median": result[0], "q0.025": result[1], "q0.975": result[2],
                     "clicks": result.clicks, "impressions": result.impressions, "seconds": result.seconds})
    table = pd.DataFrame(rows)
    if arguments.json:
        print(json.dumps(table.to_dict(orient="records")))
    elif arguments.csv:
        print(table.to_csv(index=False), end="")
    else:
        print(_ctr_table(table))
    if arguments.plot is not None:
        from .plots import plot_ab

        plot_ab(table, path=arguments.plot)


def _ctr_table(table: pd.DataFrame) -> str:
    shown = table.copy()
    for column in ("median", "q0.025", "q0.975"):
        shown[column] = shown[column].map(lambda value: f"{value:.4%}")
    shown["seconds"] = shown["seconds"].map(lambda value: f"{value:.2f}")
    text: str = shown.to_string(index=False)
    return text


def _logs(arguments: argparse.Namespace) -> None:
    from .io.parquet import write_logs

    path = write_logs(arguments.out, _env_args(arguments), arguments.users, model=arguments.env,
                      workers=arguments.workers)
    print(f"wrote the logs of {arguments.users} users to {path}")
    if arguments.heatmap is not None:
        from .io.parquet import read_logs
        from .plots import plot_action_heatmap

        logs, metadata = read_logs(path)
        plot_action_heatmap(logs, metadata["env_args"]["num_products"], path=arguments.heatmap)


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
    """What the TOML file at ``path`` asks for: ``sweep``'s keyword arguments,
    with ``agents`` as names."""
    config = _read_toml(path)
    settings = config.get("sweep")
    if not isinstance(settings, dict):
        raise ValueError(f"--config {path}: needs a [sweep] table")
    missing = [key for key in ("agents", "offline_users", "online_users", "seeds") if key not in settings]
    if missing:
        raise ValueError(f"--config {path}: [sweep] lacks {', '.join(missing)}")
    grid = config.get("grid", {})
    if not isinstance(grid, dict):
        raise ValueError(f"--config {path}: [grid] must be a table of env args")
    names = _as_list(settings["agents"])
    unknown = [name for name in names if name not in AGENTS]
    if unknown:
        raise ValueError(f"--config {path}: unknown agent(s) {', '.join(map(str, unknown))}; "
                         f"choose from {', '.join(AGENTS)}")
    return {
        "env_args_grid": {key: _as_list(values) for key, values in grid.items()},
        "agents": names,
        "offline_users": _as_list(settings["offline_users"]),
        "online_users": settings["online_users"],
        "seeds": _as_list(settings["seeds"]),
        "model": settings.get("model", "reco-gym-v1"),
    }


def _sweep(arguments: argparse.Namespace) -> None:
    kwargs = _sweep_config(arguments.config)  # a bad file fails before any work
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
        for path in _plot_sweep(results, arguments.plot):
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


def _plot_sweep(results: pd.DataFrame, path: Path) -> list[Path]:
    """``plot_ctr_vs_training`` of each env config of ``results``: to ``path``
    for one config, else to ``path`` with the config in its name, such as
    ``ctr-num_products=10.png``."""
    from .evaluation.sweep import RESULT_COLUMNS

    # By name: recogym.plots (and matplotlib) are optional at type-checking time too.
    plots = importlib.import_module(".plots", __package__)
    varying = [column for column in results.columns
               if column not in RESULT_COLUMNS and results[column].nunique(dropna=False) > 1]
    if not varying:
        plots.plot_ctr_vs_training(results, path=path)
        return [path]
    written = []
    for values, config in results.groupby(varying, sort=False):
        label = "-".join(f"{name}={value}" for name, value in zip(varying, values))
        target = path.with_name(f"{path.stem}-{label}{path.suffix}")
        plots.plot_ctr_vs_training(config.drop(columns=varying), path=target)
        written.append(target)
    return written


def _ope(arguments: argparse.Namespace) -> None:
    from .evaluation.ope import evaluate_policy
    from .io.parquet import read_logs

    logs, metadata = read_logs(arguments.logs)
    env = _make_env(metadata["model"], metadata["env_args"])
    agent = make_agent(arguments.agent, {"num_products": env.num_products})
    # Train on users after the logged ones, so the target never saw the logs' users.
    first_user = metadata["num_users"] + metadata["num_organic_users"]
    agent.train_logs(env.simulate(arguments.train_users, first_user=first_user))
    truth_env = env if metadata.get("rng", "default") == "default" else None
    table = evaluate_policy(logs, agent, env=truth_env)
    print(f"{arguments.agent} trained on {arguments.train_users} users, evaluated on {arguments.logs}")
    print(table.to_string())


def _leaderboard(arguments: argparse.Namespace) -> None:
    from .evaluation.online import ctr_interval, evaluate_online, train_offline
    from .policies import UserPopularity

    env_args = {"random_seed": arguments.seed, "num_products": arguments.products}
    env = _make_env("reco-gym-v1", env_args)
    entries = _folder_agents(arguments.folder, env_args) if arguments.folder else _builtin_agents(env_args)
    if not entries:
        raise ValueError(f"--folder {arguments.folder}: holds no agent files (*.py)")
    policy = UserPopularity(arguments.log_epsilon)
    rows = []
    for name, agent in tqdm(entries.items(), desc="Agents", disable=None, leave=False):
        entry_env = copy.deepcopy(env)
        trained = copy.deepcopy(agent)
        if hasattr(trained, "train_logs"):
            first = entry_env.take_users(arguments.organic_users + arguments.offline_users)
            trained.train_logs(entry_env.simulate(arguments.offline_users, arguments.organic_users,
                                                  first_user=first, policy=policy))
            logging = f"UserPopularity({arguments.log_epsilon})"
        else:
            train_offline(entry_env, trained, arguments.offline_users, arguments.organic_users)
            logging = "uniform"
        clicks, impressions = evaluate_online(entry_env, trained, arguments.online_users)
        median, low, high = ctr_interval(clicks, impressions)
        rows.append({"agent": name, "median": median, "q0.025": low, "q0.975": high,
                     "clicks": clicks, "impressions": impressions, "logging": logging})
    table = pd.DataFrame(rows).sort_values("median", ascending=False, ignore_index=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    for column in ("median", "q0.025", "q0.975"):
        table[column] = table[column].map(lambda value: f"{value:.4%}")
    print(table.to_string(index=False))


def _builtin_agents(env_args: Mapping[str, Any]) -> dict[str, Any]:
    return {entry.name: entry.build(env_args["num_products"]) for entry in registry.available_agents()}


def _folder_agents(folder: Path, env_args: Mapping[str, Any]) -> dict[str, Any]:
    """The agents of the ``*.py`` files of ``folder``, by name."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--folder {folder}: no such directory")
    entries = {}
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"recogym_entry_{path.stem}", path)
        assert spec is not None and spec.loader is not None  # a .py file always has a loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "agent"):
            agent = module.agent
        elif hasattr(module, "agent_class"):
            agent = module.agent_class({**getattr(module, "agent_args", {}), "num_products": env_args["num_products"]})
        else:
            raise ValueError(f"{path}: defines neither 'agent' nor 'agent_class'")
        entries[str(getattr(module, "name", path.stem))] = agent
    return entries


if __name__ == "__main__":
    sys.exit(main())
