#!/bin/bash
# Weak or strong scaling sweep over node counts: one Slurm job per point (jobscripts/run.sbatch),
# then a report job chained with --dependency=afterany that runs tools/flexcp-report on every
# point's results. Run from the repository root.
#
#   jobscripts/sweep.sh [options] INPUT.toml [-- flexcp run options]
#     --nodes "1 2 4 8"     node counts (default "1 2")
#     --tasks-per-node N    MPI ranks per node (default 2)
#     --gpus-per-node G     GPUs per node to request (default: none; CPU runs)
#     --mode weak|strong    weak: tokens per batch = tokens-per-rank x ranks; strong: fixed
#     --tokens-per-rank T   weak scaling (default 2048)
#     --tokens T            strong scaling: tokens per batch (default: the input's)
#     --time HH:MM:SS       time limit per point (default 00:30:00)
#     --env PROFILE         jobscripts/env/PROFILE.sh (default local)
#     --dry-run             print the sbatch commands, submit nothing
# Prints the sweep directory; the report lands in it (report/ with Markdown, CSV and PNG).
set -euo pipefail

nodes_list="1 2"; tasks=2; gpus=""; mode=weak; per_rank=2048; tokens=""; limit="00:30:00"; profile=local; dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes_list="$2"; shift 2 ;;
    --tasks-per-node) tasks="$2"; shift 2 ;;
    --gpus-per-node) gpus="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --tokens-per-rank) per_rank="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --time) limit="$2"; shift 2 ;;
    --env) profile="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "sweep.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
input="${1:-}"
[ -n "$input" ] || { echo "sweep.sh: missing INPUT.toml (see --help)" >&2; exit 2; }
[ -f "$input" ] || { echo "sweep.sh: input '$input' does not exist" >&2; exit 2; }
shift
[ "${1:-}" = "--" ] && shift
case "$mode" in weak|strong) ;; *) echo "sweep.sh: --mode must be weak or strong, not '$mode'" >&2; exit 2 ;; esac
[ -f "jobscripts/env/${profile}.sh" ] || { echo "sweep.sh: no profile jobscripts/env/${profile}.sh" >&2; exit 2; }
for n in $nodes_list; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "sweep.sh: --nodes holds '$n', not a positive integer" >&2; exit 2; }
done

results="${FLEXCP_RESULTS:-results}"
sweep_dir="$results/sweep-$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$results"
[ "$dry" -eq 1 ] || mkdir -p "$sweep_dir"

export FLEXCP_ENV="$profile"  # sbatch exports the environment to the job (--export=ALL)
# submit LABEL SBATCH-ARGS...: sets $job_id (dry run: prints the command, id "dry-LABEL").
submit() {
  local label="$1"; shift
  if [ "$dry" -eq 1 ]; then
    printf 'sbatch --parsable'; printf ' %q' "$@"; printf '\n'
    job_id="dry-$label"
  else
    job_id=$(sbatch --parsable "$@" | cut -d';' -f1)
  fi
}

ids=(); files=()
for n in $nodes_list; do
  ranks=$((n * tasks))
  set_tokens=()
  if [ "$mode" = weak ]; then set_tokens=(--set "batch.tokens_per_batch=$((per_rank * ranks))")
  elif [ -n "$tokens" ]; then set_tokens=(--set "batch.tokens_per_batch=$tokens"); fi
  gpu_opt=()
  [ -n "$gpus" ] && gpu_opt=(--gpus-per-node="$gpus")
  submit "n$n" --nodes="$n" --ntasks-per-node="$tasks" "${gpu_opt[@]}" --time="$limit" \
    --job-name="flexcp-${mode}-n${n}" --output="$results/flexcp-%j.out" \
    jobscripts/run.sbatch "$input" "${set_tokens[@]}" "$@"
  ids+=("$job_id"); files+=("$results/$job_id/results.h5")
done
dependency="afterany:$(IFS=:; echo "${ids[*]}")"
submit report --dependency="$dependency" --output="$results/flexcp-report-%j.out" \
  jobscripts/report.sbatch "$sweep_dir/report" "${files[@]}"
report_id="$job_id"
if [ "$dry" -eq 0 ]; then
  printf '%s\n' "${ids[@]}" > "$sweep_dir/jobs.txt"
  echo "$report_id" > "$sweep_dir/report_job.txt"
fi
echo "$sweep_dir"
