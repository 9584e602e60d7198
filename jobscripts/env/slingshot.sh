# shellcheck shell=bash disable=SC2034  # FLEXCP_SRUN_* are read by run.sbatch, which sources this
# Environment profile: HPE Slingshot systems (Cray EX, e.g. with 4 GPUs per node) with flexcp
# built against Open MPI over libfabric. Sourced by jobscripts/run.sbatch when FLEXCP_ENV=slingshot;
# with Cray MPICH use FLEXCP_ENV=slingshot-cray-mpich (same fabric settings, Cray's launcher
# plugin). Requires the aws-ofi-nccl plugin for NCCL on libfabric; load the site's modules before
# submitting. Sources, for the settings below:
#   CSCS Alps: https://docs.cscs.ch/software/communication/openmpi/ (Open MPI: srun --mpi=pmix,
#     PMIX_MCA_psec, OFI MTL, FI_PROVIDER) and .../communication/nccl/ (NCCL and FI_CXI values)
#   NERSC Perlmutter: https://docs.nersc.gov/performance/network/ (FI_CXI_RX_MATCH_MODE)
#   OLCF Frontier: https://docs.olcf.ornl.gov/software/analytics/pytorch_frontier.html (RCCL/NCCL
#     over the libfabric plugin: FI_CXI_RDZV_*, FI_CXI_DEFAULT_CQ_SIZE, FI_CXI_DEFAULT_TX_SIZE)
# Sites tune these per Slingshot release: compare with the site's own page before a large run.
# Every FI_*, NCCL_* and OMPI_* value in force is recorded in the results file
# (/provenance/environment), so a run can be matched to the settings it ran with.

# srun (read by run.sbatch, not exported): Open MPI is started through PMIx (CSCS). Each task
# bound to its own cores (NERSC and OLCF recommend explicit binding; with --cpus-per-task=N a
# task gets N cores).
FLEXCP_SRUN_MPI=pmix
FLEXCP_SRUN_CPU_BIND=cores

# Open MPI over libfabric's CXI provider (the Slingshot NIC); OFI MTL, no UCX (there is no UCX
# back end for Slingshot 11). psec=native: PMIx uses Slurm's security domain (no start-up warnings).
export OMPI_MCA_pml=cm
export OMPI_MCA_mtl=ofi
export PMIX_MCA_psec=native
export FI_PROVIDER=cxi

# libfabric CXI. Completion queues large enough for the bursts of many small messages that
# collectives over many peers produce (131072 at CSCS and OLCF; the default is far smaller and
# overflows at scale).
export FI_CXI_DEFAULT_CQ_SIZE=131072
# Transmit queue depth (CSCS: 32768 for NCCL on Alps; OLCF uses 2048 for RCCL on Frontier).
export FI_CXI_DEFAULT_TX_SIZE=32768
# Tag matching: hybrid starts in the NIC and falls back to software when its match entries are
# exhausted; "hardware" alone can fail a job with "LE resources not recovered during flow
# control" (NERSC). CSCS uses "software" for NCCL-heavy jobs.
export FI_CXI_RX_MATCH_MODE=hybrid
# Rendezvous: alt_read (receiver-driven reads) with every message on the rendezvous path, as OLCF
# recommends for NCCL/RCCL traffic. Needs the allocation flag `#SBATCH --network=disable_rdzv_get`
# there; it can slow MPI-heavy jobs (flexcp's data path is NCCL on GPUs, MPI only for set-up).
export FI_CXI_RDZV_PROTO=alt_read
export FI_CXI_RDZV_THRESHOLD=0
export FI_CXI_RDZV_GET_MIN=0
export FI_CXI_RDZV_EAGER_SIZE=0
# GPU buffers are registered by NCCL; host registration by the provider deadlocks with CUDA
# (CSCS, OLCF).
export FI_CXI_DISABLE_HOST_REGISTER=1
# Memory-registration cache: watch unmapped pages with userfaultfd (CSCS; OLCF now uses kdreg2
# where Slingshot >= 2.3 provides it). Never memhooks with the NCCL plugin (deadlocks, OLCF).
export FI_MR_CACHE_MONITOR=userfaultfd

# NCCL over libfabric through aws-ofi-nccl; fail at start if the plugin is missing, instead of
# silently falling back to TCP sockets (CSCS).
export NCCL_NET="AWS Libfabric"
export NCCL_SOCKET_IFNAME=hsn
# NCCL: GPUDirect RDMA where GPU and NIC share a PCIe host bridge (support varies by system:
# check the aws-ofi-nccl log line "GPUDirect RDMA" at NCCL_DEBUG=INFO).
export NCCL_NET_GDR_LEVEL=PHB
# NCCL: rings may cross NICs (CSCS and OLCF set 1: a GPU's traffic may use a neighbour's NIC).
export NCCL_CROSS_NIC=1
# NCCL >= 2.27 enables LL128 by default, which performs worse on Slingshot (CSCS).
export NCCL_PROTO=^LL128
export NCCL_DEBUG=WARN
