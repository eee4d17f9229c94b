#!/usr/bin/env bash
# Regenerate the figures of the README and the docs with the CLI, as a user
# would make them: CTR against training users (docs/ctr_vs_training.png), the
# eleven built-in agents side by side (docs/ab.png), and the logging policy's
# recommendations per last viewed product (docs/heatmap.png).
set -eo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recogym sweep --config "$root/examples/sweep.toml" --out "$work/results.parquet" --plot "$root/docs/ctr_vs_training.png"
agents=$(python3 -c "from recogym.agents.registry import AGENTS; print(','.join(AGENTS))")
recogym run --agents "$agents" --offline-users 1000 --online-users 3000 --plot "$root/docs/ab.png"
recogym logs --users 2000 --out "$work/logs.parquet" --heatmap "$root/docs/heatmap.png"
