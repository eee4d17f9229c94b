"""The agents' leaderboard: ``test_agent`` for every built-in agent
(:data:`recogym.agents.registry.AGENTS`) on reco-gym-v1, printed as a
Markdown table of CTR (median and 95% credible interval) and wall time.

Every agent of one (products, offline users) setting gets a deep copy of the
same env, so all train on the same offline users and are tested on the same
online users. Seeds are fixed, so the table is reproducible; the times are
those of this machine.

Usage::

    python scripts/leaderboard.py                     # P=10 and 100, 1,000 and 10,000 offline users
    python scripts/leaderboard.py --products 100 --offline-users 1000 --agents bandit-mf
"""
from __future__ import annotations

import argparse
import copy
import sys

import recogym
from recogym.agents.registry import AGENTS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, nargs="+", default=[10, 100], help="values of num_products")
    parser.add_argument("--offline-users", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--online-users", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42, help="the env's random_seed")
    parser.add_argument("--agents", nargs="+", choices=list(AGENTS), default=list(AGENTS))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    entries = [AGENTS[name] for name in args.agents]
    for entry in entries:
        if not entry.available():
            print(f"skipping {entry.title}: pip install recogym[{entry.extra}]", file=sys.stderr)
    print(f"reco-gym-v1, random_seed={args.seed}, {args.online_users:,} online users\n")
    print("| Agent | P | offline users | CTR median | 95% interval | seconds |")
    print("| --- | ---: | ---: | ---: | :---: | ---: |")
    for num_products in args.products:
        env = recogym.make("reco-gym-v1")
        env.init_gym({"random_seed": args.seed, "num_products": num_products})
        for offline_users in args.offline_users:
            for entry in entries:
                if not entry.available():
                    continue
                result = recogym.test_agent(copy.deepcopy(env), entry.build(num_products), offline_users,
                                            args.online_users)
                median, low, high = result
                print(f"| {entry.title} | {num_products} | {offline_users:,} | {median:.2%} | "
                      f"{low:.2%} – {high:.2%} | {result.seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
