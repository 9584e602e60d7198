#!/usr/bin/python3
"""Measured vs modelled, per phase, from a `flexcp run` results file (schema v1).

Usage: tools/phase_table.py RESULTS.h5

Per strategy, means over the measured steps of the busiest rank: kernel CPU time (busy_s)
next to the cost model's compute time, time blocked on communication (comm_wait_s) next to the
model's exposed communication, bytes sent against the baseline's, and the busy-time imbalance.
"""
import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        if "runs" not in f or f.attrs.get("kind") != "run":
            sys.exit(f"{path}: not a flexcp run results file (no /runs or kind != 'run')")
        runs = f["runs"]
        baseline = runs.attrs.get("baseline", next(iter(runs)))
        base_bytes = runs[baseline]["kv_bytes_sent"][()].sum(axis=1).mean()
        print(f"# {path}: {f.attrs['nranks']} ranks on {f.attrs['nnodes']} node(s); bytes relative to {baseline}")
        print(f"# {'strategy':22s} {'busy(ms)':>9s} {'model(ms)':>9s} {'busy/model':>10s} {'wait(ms)':>9s} "
              f"{'model exposed(ms)':>17s} {'imbal':>6s} {'bytes':>9s} {'of base':>7s}")
        for name, g in runs.items():
            busy = g["busy_s"][()].max(axis=1).mean()
            model = g["modelled_busy_s"][()].max(axis=1).mean()
            wait = g["comm_wait_s"][()].max(axis=1).mean()
            exposed = g["modelled_exposed_comm_s"][()].max(axis=1).mean()
            imbalance = g["busy_imbalance"][()].mean()
            sent = g["kv_bytes_sent"][()].sum(axis=1).mean()
            print(f"  {name:22s} {1e3 * busy:9.1f} {1e3 * model:9.1f} {busy / model:10.2f} {1e3 * wait:9.1f} "
                  f"{1e3 * exposed:17.2f} {imbalance:6.3f} {sent / 2**20:8.2f}M {sent / base_bytes:7.1%}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
