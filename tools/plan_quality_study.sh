#!/usr/bin/env bash
# Plan quality under the H100 profile (bench/RESULTS.md, issue "planner and cost model"):
# for every shipped distribution, 64 / 256 / 1,024 GPUs (8 per node), weak scaling at 16,384
# tokens per GPU, LLaMA-3-8B, three batch streams: normal, extreme (every batch's longest
# document holds >= half its tokens) and mixed (20% extreme; the baseline's degree is tuned on
# the whole stream, as one training run would). Prints one line per case; the mixed line's
# flexcp/mcp is the speedup on its extreme batches.
#   tools/plan_quality_study.sh [BATCHES] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
batches="${1:-100}"
outdir="${2:-results/plan-quality}"
mkdir -p "$outdir"
flexcp=build/release/src/flexcp
printf '%-18s %6s %-8s %10s %10s %12s %10s\n' dataset gpus batches flexcp/mcp flexsp/mcp flexcp/bound baseline
for dataset in debian-changelogs debian-copyright c-headers; do
  for nodes in 8 32 128; do
    for kind in normal extreme mixed; do
      extra=()
      [ "$kind" = extreme ] && extra=(--extreme)
      [ "$kind" = mixed ] && extra=(--set plan.extreme_fraction=0.2)
      out="$outdir/$dataset-$((nodes * 8))gpu-$kind.h5"
      log=$("$flexcp" plan inputs/plan-llama3-8b.toml --nodes "$nodes" --batches "$batches" "${extra[@]}" \
        --set "batch.dataset=datasets/$dataset.txt" --set "batch.tokens_per_batch=$((16384 * nodes * 8))" \
        --set 'plan.strategies=["flexcp","flexsp","megatron-cp-ring","ulysses","bound"]' --out "$out" --force)
      get() { grep "strategy=$1 " <<<"$log" | sed -E "s/.* $2=([^ ]+).*/\1/"; }
      field=mean_speedup
      [ "$kind" = mixed ] && field=extreme_speedup
      printf '%-18s %6d %-8s %10s %10s %12s %10s\n' "$dataset" $((nodes * 8)) "$kind" \
        "$(get flexcp $field)" "$(get flexsp $field)" "$(get flexcp median_step_over_bound)" \
        "$(grep '^# baseline' <<<"$log" | sed -E 's/.*= ([^ ]+).*/\1/')"
    done
  done
done
