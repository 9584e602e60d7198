# Environment profile: one machine, or nodes emulated on one machine (the local Slurm of the
# tests). Sourced by jobscripts/run.sbatch when FLEXCP_ENV=local (the default).

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
