"""PPO in plain torch over the native vector env, in the style of CleanRL's
single-file ``ppo.py``: no RL library, one loop you can read and change.

The env is ``gymnasium.make_vec('recogym/RecoGym-v1', ...,
vectorization_mode='vector_entry_point', autoreset_mode=SAME_STEP)``, all
users stepped by the engine together, under ``VectorCumulativeViewCounts``:
the policy sees each user's view counts since they arrived (as
``log1p``) and is rewarded for clicks. After training, the greedy policy is
tested beside recommending each user's most viewed product, on the same
users.

Needs torch. Run it with ``python examples/cleanrl_ppo.py --timesteps 500000``.
"""
import argparse
import math
import time

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import nn

import recogym  # noqa: F401  (registers the ids)
from recogym.gym_vector import VectorCumulativeViewCounts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=500_000, help="training budget, in user-steps")
    parser.add_argument("--num-envs", type=int, default=512, help="users stepped together")
    parser.add_argument("--num-steps", type=int, default=16, help="steps per user per rollout")
    parser.add_argument("--num-products", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--minibatches", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--clip", type=float, default=0.2)
    parser.add_argument("--entropy-coef", type=float, default=0.01)
    parser.add_argument("--test-steps", type=int, default=200, help="test steps of --num-envs users")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def make_envs(args):
    envs = gymnasium.make_vec("recogym/RecoGym-v1", args.num_envs, vectorization_mode="vector_entry_point",
                              autoreset_mode=AutoresetMode.SAME_STEP, num_products=args.num_products,
                              random_seed=42)
    return VectorCumulativeViewCounts(envs)


class Agent(nn.Module):
    def __init__(self, num_products):
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(num_products, 64), nn.Tanh(), nn.Linear(64, 1))
        self.actor = nn.Sequential(nn.Linear(num_products, 64), nn.Tanh(), nn.Linear(64, num_products))

    def value(self, counts):
        return self.critic(torch.log1p(counts)).squeeze(-1)

    def act(self, counts, action=None):
        logits = self.actor(torch.log1p(counts))
        distribution = torch.distributions.Categorical(logits=logits)
        if action is None:
            action = distribution.sample()
        return action, distribution.log_prob(action), distribution.entropy(), self.value(counts)


def train(args):
    """Returns the trained agent, the user-steps and the seconds taken."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)   # a small MLP on CPU: threads only contend
    envs = make_envs(args)
    agent = Agent(args.num_products)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    shape = (args.num_steps, args.num_envs)
    observations = torch.zeros(shape + (args.num_products,))
    actions = torch.zeros(shape, dtype=torch.int64)
    log_probs, rewards, dones, values = (torch.zeros(shape) for _ in range(4))

    start = time.perf_counter()
    counts, _ = envs.reset(seed=args.seed)
    next_obs, next_done = torch.from_numpy(counts), torch.zeros(args.num_envs)
    steps = 0
    while steps < args.timesteps:
        for t in range(args.num_steps):
            observations[t], dones[t] = next_obs, next_done
            with torch.no_grad():
                action, log_prob, _, value = agent.act(next_obs)
            actions[t], log_probs[t], values[t] = action, log_prob, value
            counts, reward, terminated, truncated, _ = envs.step(action.numpy())
            rewards[t] = torch.from_numpy(reward)
            next_obs = torch.from_numpy(counts)
            next_done = torch.from_numpy(terminated | truncated).float()
            steps += args.num_envs

        # Generalised advantage estimation; a done step's next observation is a new user (SAME_STEP).
        with torch.no_grad():
            next_value = agent.value(next_obs)
            advantages = torch.zeros(shape)
            last = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                not_done = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * not_done - values[t]
                advantages[t] = last = delta + args.gamma * args.gae_lambda * not_done * last
            returns = advantages + values

        b_obs, b_actions = observations.reshape(-1, args.num_products), actions.reshape(-1)
        b_log_probs, b_advantages, b_returns = log_probs.reshape(-1), advantages.reshape(-1), returns.reshape(-1)
        batch = b_obs.shape[0]
        minibatch = batch // args.minibatches
        for _ in range(args.epochs):
            order = torch.randperm(batch)
            for begin in range(0, batch, minibatch):
                index = order[begin:begin + minibatch]
                _, new_log_prob, entropy, new_value = agent.act(b_obs[index], b_actions[index])
                ratio = (new_log_prob - b_log_probs[index]).exp()
                advantage = b_advantages[index]
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                policy_loss = torch.max(-advantage * ratio,
                                        -advantage * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
                value_loss = 0.5 * ((new_value - b_returns[index]) ** 2).mean()
                loss = policy_loss + 0.5 * value_loss - args.entropy_coef * entropy.mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
    return agent, steps, time.perf_counter() - start


def test_ctr(args, choose):
    """CTR of ``choose(counts) -> actions`` over the same users, with a 95% normal interval."""
    envs = make_envs(args)
    counts, _ = envs.reset(seed=10_000 + args.seed)
    clicks = 0.0
    for _ in range(args.test_steps):
        counts, reward, _, _, _ = envs.step(choose(counts))
        clicks += float(reward.sum())
    impressions = args.test_steps * args.num_envs
    ctr = clicks / impressions
    half = 1.96 * math.sqrt(ctr * (1 - ctr) / impressions)
    return ctr, ctr - half, ctr + half


def main(argv=None):
    args = parse_args(argv)
    agent, steps, seconds = train(args)
    print(f"PPO: {steps} user-steps in {seconds:.1f} s ({steps / seconds:,.0f} steps/s, training included)")

    def greedy(counts):
        with torch.no_grad():
            return agent.actor(torch.log1p(torch.from_numpy(counts))).argmax(-1).numpy()

    generator = np.random.Generator(np.random.PCG64(args.seed))
    policies = {"PPO (greedy)": greedy, "user's most viewed product": lambda counts: counts.argmax(-1),
                "random": lambda counts: generator.integers(args.num_products, size=len(counts))}
    results = {name: test_ctr(args, choose) for name, choose in policies.items()}
    for name, (ctr, low, high) in results.items():
        print(f"{name:<28} CTR {ctr:.4f}  [{low:.4f}, {high:.4f}]")
    return {"steps": steps, "seconds": seconds, "ctr": results}


if __name__ == "__main__":
    main()
