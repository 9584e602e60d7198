#!/usr/bin/env bash
# Plan quality under the H100 profile (bench/RESULTS.md): for every shipped distribution, 64 /
# 256 / 1,024 GPUs (8 per node), weak scaling at 16,384 tokens per GPU, LLaMA-3-8B (full
# activation checkpointing), three batch streams: normal, extreme (every batch's longest
# document holds >= half its tokens) and mixed (20% extreme). Every static family is tuned on
# each stream as one training run would be (Megatron-LM: comm type and degree; Ulysses: degree;
# USP: Ulysses x ring), and the baseline is the best Megatron-LM configuration. Prints one
# Markdown row per case. Ratios are throughput over the run (sum of the baseline's step times /
# sum of the strategy's); "batch-mean" is the mean of per-batch ratios; the mixed rows add the
# throughput ratio over their extreme batches alone.
#   tools/plan_quality_study.sh [BATCHES] [OUTDIR] [FLEXSP_TIME_LIMIT_S]
# Environment: NODES (default "8 32 128", x 8 GPUs), DATASETS (default the three shipped), and
# TOKENS_PER_BATCH for strong scaling (a fixed batch at every size; default weak scaling), FLEXCP
# (the binary; default build/release/src/flexcp), STRATEGIES (the plan.strategies list; default
# flexcp, flexsp, ulysses, usp, bound: leaving flexsp out skips its MILP, most of the time).
set -euo pipefail
cd "$(dirname "$0")/.."
batches="${1:-100}"
outdir="${2:-results/plan-quality}"
flexsp_limit="${3:-10}"
mkdir -p "$outdir"
flexcp=${FLEXCP:-build/release/src/flexcp}
echo "| dataset | GPUs | stream | flexcp | flexcp batch-mean | flexcp on extreme | flexsp | ulysses | usp | flexcp median step / bound | baseline | flexsp MILP kept / ran |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for dataset in ${DATASETS:-debian-changelogs debian-copyright c-headers}; do
  for nodes in ${NODES:-8 32 128}; do
    tokens=${TOKENS_PER_BATCH:-$((16384 * nodes * 8))}
    for kind in normal extreme mixed; do
      extra=()
      [ "$kind" = extreme ] && extra=(--extreme)
      [ "$kind" = mixed ] && extra=(--set plan.extreme_fraction=0.2)
      out="$outdir/$dataset-$((nodes * 8))gpu-${tokens}tok-$kind.h5"
      log=$("$flexcp" plan inputs/plan-llama3-8b.toml --nodes "$nodes" --batches "$batches" "${extra[@]}" \
        --set "batch.dataset=datasets/$dataset.txt" --set "batch.tokens_per_batch=$tokens" \
        --set "plan.strategies=${STRATEGIES:-[\"flexcp\",\"flexsp\",\"ulysses\",\"usp\",\"bound\"]}" \
        --set "plan.flexsp_time_limit_s=$flexsp_limit" --out "$out" --force)
      get() { grep "^flexcp-plan strategy=$1 " <<<"$log" | sed -E "s/.* $2=([^ ]+).*/\1/"; }
      on_extreme=-
      [ "$kind" = mixed ] && on_extreme=$(get flexcp extreme_throughput_ratio)
      printf '| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$dataset" $((nodes * 8)) "$kind" \
        "$(get flexcp throughput_ratio)" "$(get flexcp mean_batch_ratio)" "$on_extreme" \
        "$(get flexsp throughput_ratio)" "$(get ulysses throughput_ratio)" "$(get usp throughput_ratio)" \
        "$(get flexcp median_step_over_bound)" "$(get flexcp baseline)" \
        "$(get flexsp solver_kept)" "$(get flexsp solver_batches)"
    done
  done
done
