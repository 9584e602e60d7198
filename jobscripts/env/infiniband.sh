# Environment profile: InfiniBand clusters (DGX-like H100/H200 nodes, NVLink inside a node).
# Sourced by jobscripts/run.sbatch when FLEXCP_ENV=infiniband. Site values (interface and HCA
# names) differ: check `ibv_devinfo` and `ip link` on a compute node and adjust.

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
