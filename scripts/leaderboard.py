"""The agents' leaderboard: ``test_agent`` for every agent on reco-gym-v1,
printed as a Markdown table of CTR (median and 95% credible interval) and
wall time.

Every agent of one (products, offline users) setting gets a deep copy of the
same env, so all train on the same offline users and are tested on the same
online users. Seeds are fixed, so the table is reproducible; the times are
those of this machine.

Usage::

    python scripts/leaderboard.py                     # P=10 and 100, 1,000 and 10,000 offline users
    python scripts/leaderboard.py --products 100 --offline-users 1000 --agents BanditMFSquare
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import sys

import recogym
from recogym.agents import (
    BanditCount,
    BanditMFSquare,
    EpsilonGreedy,
    LogregMulticlassIpsAgent,
    LogregPolyAgent,
    NnIpsAgent,
    OrganicCount,
    OrganicMFSquare,
    OrganicUserEventCounterAgent,
    PopularityAgent,
    RandomAgent,
)

# name: (extra needed, factory of the agent for P products)
AGENTS = {
    "RandomAgent": (None, lambda P: RandomAgent({"num_products": P})),
    "PopularityAgent": (None, lambda P: PopularityAgent({"num_products": P})),
    "OrganicCount": (None, lambda P: OrganicCount({"num_products": P})),
    "OrganicUserEventCounterAgent": (None, lambda P: OrganicUserEventCounterAgent({"num_products": P})),
    "BanditCount": (None, lambda P: BanditCount({"num_products": P})),
    "EpsilonGreedy(BanditCount)": (None, lambda P: EpsilonGreedy({}, BanditCount({"num_products": P}))),
    "LogregMulticlassIpsAgent": ("sklearn", lambda P: LogregMulticlassIpsAgent({"num_products": P})),
    "LogregPolyAgent": ("sklearn", lambda P: LogregPolyAgent({"num_products": P})),
    "BanditMFSquare": ("torch", lambda P: BanditMFSquare({"num_products": P})),
    "OrganicMFSquare": ("torch", lambda P: OrganicMFSquare({"num_products": P})),
    "NnIpsAgent": ("torch", lambda P: NnIpsAgent({"num_products": P})),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, nargs="+", default=[10, 100], help="values of num_products")
    parser.add_argument("--offline-users", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--online-users", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42, help="the env's random_seed")
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    return parser.parse_args(argv)


def available(name: str) -> bool:
    extra = AGENTS[name][0]
    return extra is None or importlib.util.find_spec(extra) is not None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    missing = [name for name in args.agents if not available(name)]
    for name in missing:
        print(f"skipping {name}: pip install recogym[{AGENTS[name][0]}]", file=sys.stderr)
    print(f"reco-gym-v1, random_seed={args.seed}, {args.online_users:,} online users\n")
    print("| Agent | P | offline users | CTR median | 95% interval | seconds |")
    print("| --- | ---: | ---: | ---: | :---: | ---: |")
    for num_products in args.products:
        env = recogym.make("reco-gym-v1")
        env.init_gym({"random_seed": args.seed, "num_products": num_products})
        for offline_users in args.offline_users:
            for name in args.agents:
                if name in missing:
                    continue
                agent = AGENTS[name][1](num_products)
                result = recogym.test_agent(copy.deepcopy(env), agent, offline_users, args.online_users)
                median, low, high = result
                print(f"| {name} | {num_products} | {offline_users:,} | {median:.2%} | "
                      f"{low:.2%} – {high:.2%} | {result.seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
