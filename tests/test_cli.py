import importlib.util
import json
import subprocess
import sys

import pandas as pd
import pytest

from recogym.cli import main, parse_setting

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
    assert lines[0].split()[:2] == ["rank", "agent"]
    assert lines[1].split()[:2] == ["1", "mine"] and lines[2].split()[:2] == ["2", "uniform"]
    assert "UserPopularity(0.1)" in lines[1]


def test_leaderboard_refuses_a_file_without_an_agent(tmp_path, capsys):
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", "--folder", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "neither 'agent' nor 'agent_class'" in _error_line(capsys)


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


def test_console_script_runs():
    completed = subprocess.run([sys.executable, "-m", "recogym", "run", "--agents", "random", *TINY, "--json"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)[0]["agent"] == "random"


def test_console_script_error_has_no_traceback():
    completed = subprocess.run([sys.executable, "-m", "recogym", "run", "--set", "num_products=0", *TINY],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip() == completed.stderr.strip().splitlines()[0]


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
