import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import recogym
from recogym.cli import build_parser, main, parse_setting

TINY = ["--offline-users", "20", "--online-users", "20"]


def _error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_run_prints_a_table_of_the_agents(capsys):
    assert main(["run", "--agents", "random,popularity", *TINY, "--set", "num_products=5"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "popularity" in out and "median" in out


def test_run_json_parses_and_names_each_agent(capsys):
    main(["run", "--agents", "random,organic-count", *TINY, "--json"])
    records = json.loads(capsys.readouterr().out)
    assert [record["agent"] for record in records] == ["random", "organic-count"]
    assert all(0 <= record["q0.025"] <= record["median"] <= record["q0.975"] <= 1 for record in records)


def test_run_csv(capsys):
    main(["run", "--agents", "random", *TINY, "--csv"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("agent,median") and lines[1].startswith("random,")


@pytest.mark.parametrize("text, expected", [("num_products=100", ("num_products", 100)),
                                            ("sigma_omega=0.5", ("sigma_omega", 0.5)),
                                            ("with_ps_all=true", ("with_ps_all", True)),
                                            ("rng=legacy", ("rng", "legacy"))])
def test_set_values_are_typed(text, expected):
    assert parse_setting(text) == expected


@pytest.mark.parametrize("argv, message", [
    (["run", "--agents", "nope"], "unknown agent"),
    (["run", "--agents", "randm"], "did you mean 'random'?"),
    (["rn"], "did you mean 'run'?"),
    (["ope", "--logs", "x.parquet", "--agent", "populrity"], "did you mean 'popularity'?"),
    (["run", "--set", "num_prods=100", *TINY], "did you mean 'num_products'?"),
    (["run", "--seed", "3", "--set", "random_seed=5", *TINY], "disagree"),
    (["run", "--plot", "/no/such/dir/ab.png", *TINY], "/no/such/dir"),
    (["run", "--plot", "ab.gif", *TINY], ".gif"),
    (["run", "--set", "num_products"], "key=value"),
    (["run", "--set", "num_products=-3", *TINY], "num_products"),
    (["run", "--offline-users", "-1"], "non-negative"),
    (["logs", "--users", "5"], "--out"),
    (["ope", "--logs", "missing.parquet", "--agent", "random"], "missing.parquet"),
    (["leaderboard", "--folder", "no-such-folder"], "no-such-folder"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    line = _error_line(capsys)
    assert line.startswith("recogym") and message in line


def test_logs_writes_a_readable_parquet(tmp_path, capsys):
    from recogym import read_logs

    path = tmp_path / "logs.parquet"
    main(["logs", "--users", "30", "--out", str(path), "--seed", "7", "--set", "num_products=5"])
    logs, metadata = read_logs(path)
    assert metadata["num_users"] == 30 and metadata["env_args"]["num_products"] == 5
    assert metadata["random_seed"] == 7
    assert set(logs.u) == set(range(30))
    assert str(path) in capsys.readouterr().out


def test_ope_prints_the_estimators(tmp_path, capsys):
    path = tmp_path / "logs.parquet"
    main(["logs", "--users", "40", "--out", str(path), "--set", "num_products=5"])
    capsys.readouterr()
    main(["ope", "--logs", str(path), "--agent", "popularity", "--train-users", "40"])
    out = capsys.readouterr().out
    for estimator in ("IPS", "SNIPS", "DR", "truth"):
        assert estimator in out


def test_leaderboard_ranks_a_folder(tmp_path, capsys):
    (tmp_path / "mine.py").write_text("from recogym.agents import OrganicCount\n"
                                      "agent_class = OrganicCount\nagent_args = {}\n")
    (tmp_path / "theirs.py").write_text("from recogym.agents import RandomAgent\n"
                                        "name = 'uniform'\nagent = RandomAgent({'num_products': 10})\n")
    main(["leaderboard", "--folder", str(tmp_path), "--offline-users", "50", "--online-users", "200"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["rank", "agent", "entry"]
    assert lines[1].split()[:3] == ["1", "mine", "mine.py"] and lines[2].split()[:3] == ["2", "uniform", "theirs.py"]


def test_leaderboard_refuses_a_file_without_an_agent(tmp_path, capsys):
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", "--folder", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "neither 'agent', 'agent_class' nor 'TestAgent'" in _error_line(capsys)


# 0.1.3.0's entry forms: build_agent_init (several names in one file), and sim_test.py's TestAgent.
BUILD_AGENT_INIT_ENTRY = """
from recogym import build_agent_init
from recogym.agents import OrganicCount, organic_count_args, RandomAgent, random_args
agent = {**build_agent_init('Count', OrganicCount, {**organic_count_args}),
         **build_agent_init('Random', RandomAgent, {**random_args})}
"""
TEST_AGENT_ENTRY = """
from recogym import Configuration
from recogym.agents import Agent
test_agent_args = {'num_products': 10, 'product': 3}
class TestAgent(Agent):
    def __init__(self, config=Configuration(test_agent_args)):
        super().__init__(config)
    def act(self, observation, reward, done):
        return {**super().act(observation, reward, done), 'a': self.config.product, 'ps': 1.0}
"""


def test_leaderboard_scores_0_1_3_0_entries_as_competition_score_does(tmp_path):
    (tmp_path / "inits.py").write_text(BUILD_AGENT_INIT_ENTRY)
    (tmp_path / "mine.py").write_text(TEST_AGENT_ENTRY)
    completed = _console("leaderboard", "--entries_dir", str(tmp_path), "--P", "10", "--UO", "5", "--U", "30",
                         "--Utest", "40", "--seed", "7", "--K", "3", "--F", "2", "--sigma_omega", "0.05",
                         "--log_epsilon", "0.2", "--with_cache", "False", "--json")
    assert completed.returncode == 0, completed.stderr
    records = {record["agent"]: record for record in json.loads(completed.stdout)}
    assert set(records) == {"Count", "Random", "mine"}
    assert records["Count"]["entry"] == records["Random"]["entry"] == "inits.py"
    config = records["mine"]["config"]
    assert config["env_args"] == {"random_seed": 7, "num_products": 10, "K": 3, "number_of_flips": 2,
                                  "sigma_omega": 0.05, "rng": "default"}
    assert (config["organic_users"], config["offline_users"], config["online_users"]) == (5, 30, 40)
    assert config["with_cache"] is False and "epsilon=0.2" in config["logging"]
    # The rows are competition_score's numbers for the same settings.
    from recogym.agents import OrganicCount, organic_count_args

    score = recogym.competition_score(10, 5, 30, 40, 7, 3, 2, 0.2, 0.05, OrganicCount, organic_count_args, "Count",
                                      False)
    for column in ("q0.025", "q0.975"):
        assert records["Count"][column] == pytest.approx(score[column].iloc[0], rel=1e-12)
    assert records["Count"]["median"] == pytest.approx(score["q0.500"].iloc[0], rel=1e-12)


def test_leaderboard_entries_do_not_see_each_others_changes_to_agent_args(tmp_path, capsys):
    (tmp_path / "a_changes.py").write_text(
        "from recogym.agents import organic_count_args, OrganicCount\n"
        "organic_count_args['num_products'] = 'broken'\nagent_class = OrganicCount\n")
    (tmp_path / "b_reads.py").write_text(
        "from recogym import build_agent_init\nfrom recogym.agents import OrganicCount, organic_count_args\n"
        "assert organic_count_args['num_products'] == 10, organic_count_args\n"
        "agent = build_agent_init('b', OrganicCount, {**organic_count_args})\n")
    main(["leaderboard", "--folder", str(tmp_path), *TINY, "--json"])
    from recogym.agents import organic_count_args

    assert organic_count_args["num_products"] == 10
    assert {record["agent"] for record in json.loads(capsys.readouterr().out)} == {"a_changes", "b"}


@pytest.mark.parametrize("flag, value, option", [("--P", "7", "products"), ("--UO", "3", "organic_users"),
                                                 ("--U", "4", "offline_users"), ("--Utest", "5", "online_users"),
                                                 ("--K", "6", "latent_factors"), ("--F", "2", "flips"),
                                                 ("--sigma_omega", "0.5", "sigma_omega"),
                                                 ("--log_epsilon", "0.3", "log_epsilon"),
                                                 ("--entries_dir", "x", "folder")])
def test_leaderboard_takes_sim_test_flags(flag, value, option):
    arguments = build_parser().parse_args(["leaderboard", flag, value])
    assert str(getattr(arguments, option)) == value


@pytest.mark.parametrize("argv, expected", [([], False), (["--with_cache"], True), (["--with_cache", "True"], True),
                                            (["--with_cache", "False"], False), (["--with-cache", "no"], False)])
def test_leaderboard_with_cache_reads_a_boolean(argv, expected):
    assert build_parser().parse_args(["leaderboard", *argv]).with_cache is expected


@pytest.mark.parametrize("argv, message", [
    (["--log_epsilon", "1.5"], "[0, 1]"),
    (["--sigma_omega", "-1"], "non-negative"),
    (["--with_cache", "maybe"], "true or false"),
    (["--Ptest", "3"], "unrecognized"),
    (["--rng", "legacyy"], "did you mean 'legacy'?"),
    (["--P", "10", "--F", "6", *TINY], "number_of_flips"),
])
def test_leaderboard_bad_settings_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", *argv])
    assert exit_info.value.code == 2
    assert message in _error_line(capsys)


RANDOM_ENTRY = "from recogym.agents import RandomAgent\nagent = RandomAgent({'num_products': 10})\n"
# Agents without train_logs, so they train through act() on the uniform logging policy.
ACTING_ENTRY = """
class Agent:
    def __init__(self, args):
        pass
    def train(self, observation, action, reward, done):
        pass
    def reset(self):
        pass
    def act(self, observation, reward, done):
        {body}
agent_class = Agent
"""
BROKEN_ENTRIES = {
    "syntax.py": ("def f(:\n", "SyntaxError"),
    "raises.py": ("raise RuntimeError('boom at import')\n", "boom at import"),
    "five.py": ("agent = 5\n", "has no act()"),
    "exits.py": ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    "acts_badly.py": (ACTING_ENTRY.format(body="raise ValueError('act broke')"), "act broke"),
    "exits_acting.py": (ACTING_ENTRY.format(body="import sys; sys.exit(4)"), "sys.exit(4)"),
}


def test_leaderboard_scores_the_others_when_entries_break(tmp_path):
    (tmp_path / "good.py").write_text(RANDOM_ENTRY)
    for file_name, (code, _) in BROKEN_ENTRIES.items():
        (tmp_path / file_name).write_text(code)
    completed = _console("leaderboard", "--folder", str(tmp_path), "--offline-users", "20", "--online-users", "50",
                         "--json")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("recogym: error: 6 of 7 entries")
    records = {record["agent"]: record for record in json.loads(completed.stdout)}
    assert records["good"]["rank"] == 1 and records["good"]["error"] is None
    assert records["good"]["impressions"] > 0
    for file_name, (_, message) in BROKEN_ENTRIES.items():
        record = records[Path(file_name).stem]
        assert record["rank"] is None and message in record["error"]
        assert message in completed.stderr


def test_leaderboard_ranks_ties_as_ties(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(RANDOM_ENTRY)
    (tmp_path / "c.py").write_text("from recogym.agents import OrganicCount\nagent_class = OrganicCount\n")
    main(["leaderboard", "--folder", str(tmp_path), "--offline-users", "50", "--online-users", "200", "--json"])
    records = json.loads(capsys.readouterr().out)
    ranks = {record["agent"]: record["rank"] for record in records}
    # The same agent on the same users has the same CTR: a tie, ranked 2 and 2 under OrganicCount's 1.
    assert records[1]["median"] == records[2]["median"] < records[0]["median"]
    assert ranks == {"c": 1, "a": 2, "b": 2}


def _console(*arguments, **kwargs):
    """The installed ``recogym`` console script, run as a user would."""
    script = shutil.which("recogym", path=str(Path(sys.executable).parent)) or shutil.which("recogym")
    assert script is not None, "the recogym console script is not installed"
    return subprocess.run([script, *arguments], capture_output=True, text=True, timeout=300, **kwargs)


def test_console_script_version():
    completed = _console("--version")
    assert completed.returncode == 0 and completed.stdout.strip() == f"recogym {recogym.__version__}"


def test_console_script_error_has_no_traceback():
    completed = _console("run", "--set", "num_products=0", *TINY)
    assert completed.returncode == 2
    assert completed.stderr.startswith("recogym: error:") and completed.stderr.count("\n") == 1


@pytest.mark.parametrize("products, message", [(2_000_000_000, "not enough memory"), (10**11, "num_products")])
def test_console_script_size_too_large_is_one_line(products, message):
    completed = _console("run", "--set", f"num_products={products}", *TINY)
    assert completed.returncode == 2
    assert completed.stderr.startswith("recogym: error:") and completed.stderr.count("\n") == 1
    assert message in completed.stderr


def test_console_script_usage_error_is_one_line():
    completed = _console("run", "--offline-users", "many")
    assert completed.returncode == 2
    assert completed.stderr.startswith("recogym: error:") and completed.stderr.count("\n") == 1


def test_console_script_closed_pipe_ends_quietly():
    script = shutil.which("recogym", path=str(Path(sys.executable).parent)) or shutil.which("recogym")
    with subprocess.Popen([script, "demo", *TINY], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout.readline()  # what `| head -1` reads, then it goes away
        process.stdout.close()
        stderr = process.stderr.read()
        assert process.wait(timeout=300) == 0
    assert stderr == b""


def test_console_script_csv_records_config_seed_and_version():
    completed = _console("run", "--agents", "random", *TINY, "--csv", "--set", "random_seed=5")
    assert completed.returncode == 0, completed.stderr
    from io import StringIO

    table = pd.read_csv(StringIO(completed.stdout))
    assert table["seed"].tolist() == [5] and table["recogym_version"].tolist() == [recogym.__version__]
    config = json.loads(table["config"][0])
    assert config["env_args"]["random_seed"] == 5 and config["offline_users"] == 20


@pytest.mark.parametrize("command", ["demo", "run", "logs", "sweep", "ope", "leaderboard"])
def test_every_option_has_help_and_shows_its_default(command):
    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    subparser = commands.choices[command]
    page = " ".join(subparser.format_help().split())
    assert subparser.description
    for action in subparser._actions:
        assert action.help, f"{command} {action.option_strings} has no help"
        if action.default not in (None, [], False, argparse.SUPPRESS):
            assert f"(default: {action.default})" in page, action.option_strings


def test_sweep_help_shows_the_toml_format():
    completed = _console("sweep", "--help")
    assert completed.returncode == 0
    assert "[sweep]" in completed.stdout and "[grid]" in completed.stdout and "(default: 1)" in completed.stdout


SWEEP_TOML = """
[sweep]
agents = ["random", "popularity"]
offline_users = [10, 20]
online_users = 20
seeds = [1]

[grid]
num_products = [5, 10]
"""


@pytest.mark.parametrize("text, message", [("[grid]\nnum_products = [5]\n", "[sweep]"),
                                           (SWEEP_TOML.replace("[grid]", "[grdi]"), "did you mean 'grid'?"),
                                           (SWEEP_TOML.replace("seeds", "seds"), "did you mean 'seeds'?"),
                                           (SWEEP_TOML.replace("num_products", "num_prods"),
                                            "did you mean 'num_products'?"),
                                           ("[sweep]\nagents = ['random']\n", "lacks"),
                                           (SWEEP_TOML.replace('"random"', '"nope"'), "unknown agent"),
                                           ("[sweep\n", "sweep.toml")])
def test_sweep_config_errors(tmp_path, text, message, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--config", str(config), "--out", str(tmp_path / "out.parquet")])
    assert exit_info.value.code == 2
    assert message in _error_line(capsys)


needs_sweep = pytest.mark.skipif(importlib.util.find_spec("recogym.sweep") is None,
                                 reason="recogym.sweep is not written yet")


@needs_sweep
def test_sweep_writes_results(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_TOML)
    out = tmp_path / "results.parquet"
    main(["sweep", "--config", str(config), "--out", str(out)])
    results = pd.read_parquet(out)
    assert len(results) == 2 * 2 * 2
    assert sorted(results["num_products"].unique()) == [5, 10]
    assert results["error"].isna().all()


@needs_sweep
def test_sweep_resumes_and_cleans_up(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_TOML)
    out = tmp_path / "results.parquet"
    main(["sweep", "--config", str(config), "--out", str(out)])
    first = pd.read_parquet(out)
    # The checkpoints are gone, so the same command runs again; --resume works with none.
    assert not list(tmp_path.glob("*.checkpoint.*"))
    main(["sweep", "--config", str(config), "--out", str(out), "--resume"])
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), pd.read_parquet(out).drop(columns="seconds"))


@needs_sweep
@pytest.mark.skipif(importlib.util.find_spec("recogym.plots") is None, reason="recogym.plots is not written yet")
def test_sweep_plots(tmp_path):
    pytest.importorskip("matplotlib")
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_TOML)
    main(["sweep", "--config", str(config), "--out", str(tmp_path / "results.parquet"),
          "--plot", str(tmp_path / "ctr.png")])
    # One image per env config of the grid.
    for name in ("ctr-num_products=5.png", "ctr-num_products=10.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_module_runs_as_the_command():
    completed = subprocess.run([sys.executable, "-m", "recogym", "run", "--agents", "random", *TINY, "--json"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)[0]["agent"] == "random"


def test_demo_still_runs(capsys):
    assert main(["demo", "--offline-users", "20", "--online-users", "20"]) == 0
    out = capsys.readouterr().out
    assert "RandomAgent" in out and "PopularityAgent" in out


def test_run_and_logs_save_their_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    bars, heatmap = tmp_path / "ab.png", tmp_path / "heatmap.png"
    assert main(["run", "--agents", "random,popularity", "--offline-users", "30", "--online-users", "30",
                 "--plot", str(bars)]) == 0
    assert main(["logs", "--users", "30", "--out", str(tmp_path / "logs.parquet"), "--heatmap", str(heatmap)]) == 0
    for path in (bars, heatmap):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("option, value", [("--out", "/no/such/dir/results.parquet"), ("--plot", "/no/such/dir/c.png"),
                                           ("--plot", "ctr.gif")])
def test_sweep_checks_its_outputs_before_any_cell_runs(tmp_path, monkeypatch, capsys, option, value):
    def no_work(*args, **kwargs):
        raise AssertionError("the sweep ran before its outputs were checked")

    monkeypatch.setattr("recogym.evaluation.sweep.sweep", no_work)
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP_TOML)
    arguments = {"--out": str(tmp_path / "results.parquet"), option: value}
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--config", str(config), *[item for pair in arguments.items() for item in pair]])
    assert exit_info.value.code == 2
    assert _error_line(capsys).startswith(f"recogym: error: {option}")


def test_ope_json_records_carry_the_logs_config_and_seed(tmp_path, capsys):
    path = tmp_path / "logs.parquet"
    main(["logs", "--users", "40", "--out", str(path), "--set", "num_products=5", "--seed", "9"])
    capsys.readouterr()
    main(["ope", "--logs", str(path), "--agent", "popularity", "--train-users", "40", "--json"])
    records = json.loads(capsys.readouterr().out)
    assert [record["estimator"] for record in records] == ["IPS", "clipped IPS", "SNIPS", "DM", "DR"]
    for record in records:
        assert record["seed"] == 9 and record["recogym_version"] == recogym.__version__
        assert record["config"]["agent"] == "popularity" and record["config"]["env_args"]["num_products"] == 5


def test_logs_heatmap_normalized_rows(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="plots need matplotlib: pip install recogym[plot]")
    image = tmp_path / "heatmap.png"
    main(["logs", "--users", "60", "--out", str(tmp_path / "logs.parquet"), "--heatmap", str(image),
          "--heatmap-normalize"])
    assert image.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(SystemExit) as exit_info:
        main(["logs", "--users", "5", "--out", str(tmp_path / "more.parquet"), "--heatmap-normalize"])
    assert exit_info.value.code == 2
    assert "--heatmap" in _error_line(capsys)
