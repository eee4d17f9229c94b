"""Train Stable-Baselines3's PPO on RecoGym users, then test it beside the
count baselines with ``recogym.test_agent``.

PPO trains on ``RecoGymVecEnv`` (``recogym.integrations.sb3``), SB3's
``VecEnv`` over the native engine: all training users are stepped together
in one engine call per step. It sees each user's cumulative view counts and
is rewarded for clicks. The trained model is wrapped in
``PolicyAgent`` and tested on the same env and the same online users as the
count baselines (each user's most viewed product; PopularityAgent) and the
random agent.

Needs ``pip install stable-baselines3`` (and torch). Run it with
``python examples/stable_baselines3_ppo.py --timesteps 200000``.
"""
import argparse
import copy

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

import recogym
from recogym.agents import PopularityAgent, RandomAgent
from recogym.agents.policy_agent import PolicyAgent
from recogym.integrations.sb3 import RecoGymVecEnv


class MostViewedProduct:
    """A count baseline with SB3's ``predict``: each user's most viewed product."""

    def predict(self, view_counts, deterministic=True):
        return np.argmax(view_counts, axis=-1), None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=200_000, help="PPO training budget, in steps")
    parser.add_argument("--num-products", type=int, default=10)
    parser.add_argument("--num-envs", type=int, default=256, help="training users stepped together")
    parser.add_argument("--offline-users", type=int, default=1000, help="users the baselines learn from")
    parser.add_argument("--online-users", type=int, default=2000, help="users every agent is tested on")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def train_ppo(args, env_args):
    """PPO trained on the native vector env, with the classic env's model arguments."""
    torch.set_num_threads(1)   # a small MLP on CPU: threads only contend
    envs = VecMonitor(RecoGymVecEnv(args.num_envs, **env_args))   # cumulative view counts
    # About 8k steps per update, whatever the number of users.
    n_steps = max(8, min(256, args.timesteps // args.num_envs, 8192 // args.num_envs))
    model = PPO("MlpPolicy", envs, n_steps=n_steps, batch_size=n_steps * args.num_envs // 4, gamma=0.9,
                seed=args.seed, device="cpu", verbose=0)
    return model.learn(total_timesteps=args.timesteps)


def main(argv=None):
    args = parse_args(argv)
    # The Gymnasium env's random_seed fixes the same products as the classic env's.
    env_args = {"num_products": args.num_products, "random_seed": 42}
    model = train_ppo(args, env_args)

    env = recogym.make("reco-gym-v1")
    env.init_gym(env_args)
    agent_args = {"num_products": args.num_products, "random_seed": args.seed}
    agents = {
        "PPO (cumulative view counts)": PolicyAgent(model),
        "user's most viewed product": PolicyAgent(MostViewedProduct(), args.num_products),
        "PopularityAgent": PopularityAgent(agent_args),
        "RandomAgent": RandomAgent(agent_args),
    }
    results = {}
    print(f"{'agent':<30} {'CTR':>8} {'95% interval':>20} {'impressions':>12}")
    for name, agent in agents.items():
        # Each agent meets the same offline and online users.
        result = recogym.test_agent(copy.deepcopy(env), agent, args.offline_users, args.online_users)
        results[name] = result
        median, low, high = result
        print(f"{name:<30} {median:>8.4f}   [{low:.4f}, {high:.4f}] {result.impressions:>12}")
    return results


if __name__ == "__main__":
    main()
