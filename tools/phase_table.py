#!/usr/bin/python3
"""Measured vs modelled, per phase, from `flexcp run` results files (schema v1).

Usage: tools/phase_table.py RESULTS.h5 [MORE.h5 ...]

Per strategy, means over the measured steps: the busiest rank's kernel time (compute), the rest of
the step without planning (exposed communication) and the step, each measured and as the cost
model has it for the same plans, with the ratio measured / modelled (/runs/<s>/phases); then bytes
against the baseline's and the busy-time imbalance. Files from an emulated cluster state its
dilation, and the CPU share the ranks got inside kernels (thread CPU time / kernel wall time) as a
fraction of their quota: below 1, the machine was busier than the quotas add up to, and measured
compute exceeds the model by about 1 / share; `cpu/model` takes that out (the busiest rank's kernel
CPU time / quota, against the modelled compute). The last line per file is flexcp's speedup over the
strongest static strategy (by measured time), measured and modelled.
"""
import sys

import h5py
import numpy as np

STATIC = ("megatron-cp-ring", "megatron-cp-allgather", "ulysses")


def phase_means(g):
    """(measured, modelled) means of compute, exposed_comm and step."""
    if "phases" in g:
        p = g["phases"]
        return tuple(tuple(p[f"{kind}_{phase}_s"][()].mean() for phase in ("compute", "exposed_comm", "step"))
                     for kind in ("measured", "modelled"))
    # Files written before /phases: the same definitions from the per-rank datasets.
    compute = g["compute_s"][()].max(axis=1).mean()
    step = (g["rank_step_s"][()] - g["plan_s"][()]).max(axis=1).mean()
    model_compute = g["modelled_busy_s"][()].max(axis=1).mean()
    model_step = g["modelled_step_time_s"][()].mean()
    return (compute, step - compute, step), (model_compute, model_step - model_compute, model_step)


def ratio(a, b):
    return a / b if b > 0 else float("nan")


def print_file(path):
    with h5py.File(path, "r") as f:
        if "runs" not in f or f.attrs.get("kind") != "run":
            sys.exit(f"{path}: not a flexcp run results file (no /runs or kind != 'run')")
        runs = f["runs"]
        baseline = runs.attrs.get("baseline", next(iter(runs)))
        base_bytes = runs[baseline]["kv_bytes_sent"][()].sum(axis=1).mean()
        where = f"{f.attrs['nranks']} ranks on {f.attrs['nnodes']} node(s)"
        quota = f["emulation"].attrs["cpu_quota"] if "emulation" in f else None
        if "emulation" in f:
            e = f["emulation"].attrs
            where += (f", emulated {e['profile']} dilated x{e['dilation']:.0f} (links {1e3 * e['link_gbps']:.3f} MB/s, "
                      f"{e['link_delay_ms']:.0f} ms; {e['rank_gflops']:.2f} GFLOP/s per rank)")
        print(f"# {path}: {where}; times in ms, means over measured steps; bytes relative to {baseline}")
        print(f"# {'strategy':22s} {'compute':>9s} {'model':>9s} {'ratio':>6s} | {'exposed':>9s} {'model':>9s} "
              f"{'ratio':>6s} | {'step':>9s} {'model':>9s} {'ratio':>6s} | {'imbal':>6s} {'of base':>7s}"
              + (f" {'share':>6s} {'cpu/model':>9s}" if quota else ""))
        steps = {}
        for name, g in runs.items():
            measured, modelled = phase_means(g)
            steps[name] = (measured[2], modelled[2])
            sent = g["kv_bytes_sent"][()].sum(axis=1).mean()
            cells = " | ".join(f"{1e3 * m:9.1f} {1e3 * p:9.1f} {ratio(m, p):6.2f}" for m, p in zip(measured, modelled))
            share = ""
            if quota:
                at_quota = (g["busy_s"][()].max(axis=1) / quota).mean()
                share = f" {(g['busy_s'][()] / g['compute_s'][()]).mean() / quota:6.2f} {ratio(at_quota, modelled[0]):9.2f}"
            print(f"  {name:22s} {cells} | {g['busy_imbalance'][()].mean():6.3f} {sent / base_bytes:7.1%}{share}")
        static = [s for s in STATIC if s in steps]
        if "flexcp" in steps and static:
            best = min(static, key=lambda s: steps[s][0])
            print(f"# flexcp over the strongest static strategy ({best}): measured "
                  f"{ratio(steps[best][0], steps['flexcp'][0]):.2f}x, modelled {ratio(steps[best][1], steps['flexcp'][1]):.2f}x")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        print_file(p)
