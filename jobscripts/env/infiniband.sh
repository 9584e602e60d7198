# shellcheck shell=bash disable=SC2034  # FLEXCP_SRUN_* are read by run.sbatch, which sources this
# Environment profile: InfiniBand clusters (DGX-like H100/H200 nodes, NVLink inside a node).
# Sourced by jobscripts/run.sbatch when FLEXCP_ENV=infiniband. Site values (interface and HCA
# names) differ: check `ibv_devinfo` and `ip link` on a compute node and adjust.

# srun (read by run.sbatch, not exported): Open MPI is started through PMIx (`srun --mpi=list`
# shows what the site's Slurm offers; some older sites only have pmi2). Each task bound to its
# own cores, so ranks do not migrate between sockets mid-step; with --cpus-per-task=N (sbatch
# -c N, exported to srun as SRUN_CPUS_PER_TASK) a task gets N cores.
FLEXCP_SRUN_MPI=pmix
FLEXCP_SRUN_CPU_BIND=cores

# Open MPI: UCX for point-to-point over InfiniBand (RDMA), no TCP fallback.
export OMPI_MCA_pml=ucx
export OMPI_MCA_btl=^openib,tcp
# UCX: RDMA verbs and shared memory; rc_x / dc_x are the accelerated transports of ConnectX.
export UCX_TLS=rc_x,dc_x,sm,self
# UCX: use only the HCAs that sit next to the GPUs (port 1 of each).
export UCX_NET_DEVICES=mlx5_0:1,mlx5_1:1,mlx5_2:1,mlx5_3:1
# NCCL: bootstrap over the management Ethernet, data over InfiniBand.
export NCCL_SOCKET_IFNAME=^lo,docker
export NCCL_IB_HCA=mlx5
# NCCL: GPUDirect RDMA whenever the GPU and the HCA share a PCIe switch.
export NCCL_NET_GDR_LEVEL=PHB
# NCCL: print why a communicator fails (WARN stays quiet when all is well).
export NCCL_DEBUG=WARN
