# shellcheck shell=bash disable=SC2034  # FLEXCP_SRUN_* are read by run.sbatch, which sources this
# Environment profile: HPE Slingshot systems with flexcp built against Cray MPICH (PrgEnv-*,
# cray-mpich module). Sourced by jobscripts/run.sbatch when FLEXCP_ENV=slingshot-cray-mpich.
# The fabric and NCCL settings are those of slingshot.sh (sources cited there); only the launch
# and the MPI library differ.
# shellcheck source=jobscripts/env/slingshot.sh
source "$(dirname "${BASH_SOURCE[0]}")/slingshot.sh"

# srun (read by run.sbatch): Cray MPICH is wired up by Cray's PMI through the cray_shasta plugin
# (HPE Cray EX; NERSC and OLCF sites configure it as Slurm's default, where `--mpi=none` would
# do as well: `srun --mpi=list` shows which).
FLEXCP_SRUN_MPI=cray_shasta
FLEXCP_SRUN_CPU_BIND=cores

# Open MPI's component choice means nothing to Cray MPICH, and would only mislead the record of
# the run's environment.
unset OMPI_MCA_pml OMPI_MCA_mtl PMIX_MCA_psec
# Cray MPICH: each rank uses the NIC nearest its GPU (NERSC, OLCF).
export MPICH_OFI_NIC_POLICY=GPU
