#include <gtest/gtest.h>

#include "app/output/provenance.hpp"

using namespace flexcp;

TEST(Provenance, RecordsOnlyTheLauncherAndFabricVariablesSortedByName) {
  char* entries[] = {const_cast<char*>("PATH=/usr/bin"),
                     const_cast<char*>("OMPI_MCA_btl=^openib"),
                     const_cast<char*>("NCCL_DEBUG=INFO"),
                     const_cast<char*>("FI_CXI_RX_MATCH_MODE=hybrid"),
                     const_cast<char*>("MY_NCCL_DEBUG=not a prefix match"),
                     const_cast<char*>("UCX_TLS=rc,sm=x"),  // '=' in the value stays in the value
                     const_cast<char*>("MPICH_GPU_SUPPORT_ENABLED=1"),
                     const_cast<char*>("NCCL_DEBUG=WARN"),  // repeated: getenv sees the first
                     const_cast<char*>("NCCL_NO_EQUALS"),
                     const_cast<char*>("SLURM_JOB_ID=42"),
                     nullptr};
  const std::vector<std::pair<std::string, std::string>> expected{{"FI_CXI_RX_MATCH_MODE", "hybrid"},
                                                                  {"MPICH_GPU_SUPPORT_ENABLED", "1"},
                                                                  {"NCCL_DEBUG", "INFO"},
                                                                  {"OMPI_MCA_btl", "^openib"},
                                                                  {"UCX_TLS", "rc,sm=x"}};
  EXPECT_EQ(launcher_environment(entries), expected);
}

TEST(Provenance, EmptyOrMissingEnvironmentRecordsNothing) {
  char* none[] = {nullptr};
  EXPECT_TRUE(launcher_environment(none).empty());
  EXPECT_TRUE(launcher_environment(nullptr).empty());
}
