#!/usr/bin/env bash
# Regenerate the README's figure (docs/ctr_vs_training.png) with the CLI.
set -eo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
recogym sweep --config "$root/examples/sweep.toml" --out "$work/results.parquet" --plot "$root/docs/ctr_vs_training.png"
