# shellcheck shell=bash disable=SC2034  # FLEXCP_SRUN_* are read by run.sbatch, which sources this
# Environment profile: one machine, or nodes emulated on one machine (the local Slurm of the
# tests). Sourced by jobscripts/run.sbatch when FLEXCP_ENV=local (the default).

# srun (read by run.sbatch, not exported): PMIx wires the tasks into one MPI job (Debian's
# Open MPI and Slurm both speak it). No CPU binding: emulated nodes are slurmds on one host,
# and binding each "node's" tasks from core 0 would stack them on the same cores.
FLEXCP_SRUN_MPI=pmix
FLEXCP_SRUN_CPU_BIND=none

# Open MPI: TCP between ranks. Shared memory crashes when Slurm starts emulated nodes on one
# host (two "nodes" share /dev/shm segments), and TCP on loopback is all this needs.
export OMPI_MCA_btl=self,tcp
# The UCX PML would probe for InfiniBand devices that do not exist here.
export OMPI_MCA_pml=ob1
# Running as root in containers and CI.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# NCCL (GPU backend): stay on loopback and shared memory; no InfiniBand here.
export NCCL_SOCKET_IFNAME=lo
export NCCL_IB_DISABLE=1
