"""TorchRL over the Gymnasium envs: GymWrapper of the native vector env in
the SAME_STEP and DISABLED autoreset modes (TorchRL refuses NEXT_STEP), and
GymEnv of the registered id with num_envs."""
import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import recogym  # noqa: F401  (registers the ids)

pytest.importorskip("torchrl", reason="torchrl is not installed")
torch = pytest.importorskip("torch", reason="torch is not installed")

from torchrl.envs import GymEnv, GymWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402


def native(mode, num_envs=8, **env_args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return gymnasium.make_vec("recogym/RecoGym-v1", num_envs, vectorization_mode="vector_entry_point",
                                  autoreset_mode=mode, num_products=6, **env_args)


def zeros(td):
    return td.set("action", torch.zeros(td.batch_size, dtype=torch.int64))


@pytest.mark.parametrize("mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_gym_wrapper_of_the_native_env(mode):
    env = GymWrapper(native(mode, prob_leave_bandit=0.2), categorical_action_encoding=True)
    check_env_specs(env)
    assert env.batch_size == torch.Size([8])
    # Users leave often here: the rollout goes on past their ends only if
    # TorchRL starts new users (a masked reset in DISABLED mode; the native
    # env refuses to step an ended slot).
    rollout = env.rollout(60, policy=zeros, break_when_any_done=False)
    assert rollout.batch_size == torch.Size([8, 60])
    assert rollout["next", "done"].sum() > 20
    rewards = rollout["next", "reward"]
    assert rewards.dtype == torch.float32 and set(rewards.unique().tolist()) <= {0.0, 1.0}
    observations = rollout["next", "observation"]
    assert observations.shape == (8, 60, 6) and (observations >= 0).all()


def test_gym_wrapper_steps_the_same_users_as_the_native_env():
    env = GymWrapper(native(AutoresetMode.SAME_STEP, prob_leave_bandit=0.05), categorical_action_encoding=True)
    env.set_seed(11)
    twin = native(AutoresetMode.SAME_STEP, prob_leave_bandit=0.05)
    twin.reset(seed=11)
    rollout = env.rollout(40, policy=zeros, break_when_any_done=False)
    # TorchRL's rollout resets again, unseeded, after set_seed's seeded reset.
    observations, _ = twin.reset()
    np.testing.assert_array_equal(rollout["observation"][:, 0].numpy(), observations)
    rewards = [twin.step(np.zeros(8, dtype=np.int64))[1] for _ in range(40)]
    np.testing.assert_array_equal(rollout["next", "reward"][..., 0].numpy(), np.array(rewards).T)


def check_gym_env(env_id):
    env = GymEnv(env_id, num_envs=8)
    try:
        check_env_specs(env)
        rollout = env.rollout(20, break_when_any_done=False)
        assert rollout.batch_size == torch.Size([8, 20])
        # The fixed info schema: TorchRL reads the same keys at reset and at every step.
        assert rollout["next", "user_id"].dtype == torch.int64
        assert rollout["next", "click_probability"].dtype == torch.float64
    finally:
        env.close()


def test_gym_env_with_num_envs_of_the_module_prefixed_id():
    # TorchRL steps the envs in spawned processes, which import recogym
    # through the id's "recogym:" prefix before they look it up.
    check_gym_env("recogym:recogym/RecoGym-v1")


def test_gym_env_with_num_envs_of_the_id_in_a_script(tmp_path):
    # A script that imports recogym is imported again by each spawned
    # process, which so registers the id itself (2 processes: each imports torch).
    script = tmp_path / "torchrl_recogym.py"
    script.write_text(
        "import recogym\n"
        "from torchrl.envs import GymEnv\n"
        "from torchrl.envs.utils import check_env_specs\n"
        "if __name__ == '__main__':\n"
        "    env = GymEnv('recogym/RecoGym-v1', num_envs=2)\n"
        "    check_env_specs(env)\n"
        "    assert env.rollout(10, break_when_any_done=False)['next', 'reward'].shape == (2, 10, 1)\n"
        "    env.close()\n")
    subprocess.run([sys.executable, str(script)], check=True, cwd=tmp_path, capture_output=True, timeout=300)
