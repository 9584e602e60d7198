# Environment profile: HPE Slingshot systems (Cray EX, e.g. with 4 GPUs per node). Sourced by
# jobscripts/run.sbatch when FLEXCP_ENV=slingshot. Requires the aws-ofi-nccl plugin for NCCL on
# libfabric; load the site's modules before submitting.

# Open MPI over libfabric's CXI provider (the Slingshot NIC); OFI MTL, no UCX.
export OMPI_MCA_pml=cm
export OMPI_MCA_mtl=ofi
export FI_PROVIDER=cxi
# libfabric CXI: rendezvous for large messages avoids NIC receive-buffer exhaustion at scale.
export FI_CXI_RDZV_PROTO=alt_read
# libfabric CXI: cache memory registrations (large, reused KV buffers).
export FI_MR_CACHE_MONITOR=userfaultfd
# NCCL over libfabric through aws-ofi-nccl; the high-speed network for data.
export NCCL_NET="AWS Libfabric"
export NCCL_SOCKET_IFNAME=hsn
# NCCL: GPUDirect RDMA where GPU and NIC share a PCIe switch (support varies by system: check
# the aws-ofi-nccl log line "GPUDirect RDMA" at NCCL_DEBUG=INFO).
export NCCL_NET_GDR_LEVEL=PHB
# NCCL: cross-NIC rings off (each GPU uses its own NIC).
export NCCL_CROSS_NIC=0
export NCCL_DEBUG=WARN
