"""examples/cleanrl_ppo.py, PPO in plain torch over the native vector env,
on a tiny budget."""
import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cleanrl_ppo.py"


def test_example_trains_and_tests_ppo(capsys):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    module = runpy.run_path(str(EXAMPLE), run_name="cleanrl_example")
    args = ["--timesteps", "2048", "--num-envs", "64", "--num-steps", "8", "--test-steps", "50"]
    torch.manual_seed(0)
    before = [p.detach().clone() for p in module["Agent"](10).parameters()]
    result = module["main"](args)
    out = capsys.readouterr().out
    assert result["steps"] == 2048 and result["seconds"] > 0
    assert set(result["ctr"]) == {"PPO (greedy)", "user's most viewed product", "random"}
    for name, (ctr, low, high) in result["ctr"].items():
        assert 0 <= low <= ctr <= high < 0.2
        assert name in out
    assert "steps/s" in out
    # The same seed starts from the same weights; training moved them.
    agent, _, _ = module["train"](module["parse_args"](args))
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.parameters()))
