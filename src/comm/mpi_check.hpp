#pragma once
// FLEXCP_MPI_CHECK(call): runs an MPI call and turns a failure into a flexcp::Error that names
// the call, MPI's own error string, the file:line and the rank (NCCL's NCCLCHECK, for MPI).
// Works because MpiRuntime sets MPI_ERRORS_RETURN on the world communicator.
#include <mpi.h>

#include <string>

#include "common/error.hpp"

namespace flexcp::comm {
std::string mpi_error_string(int code);
}

#define FLEXCP_MPI_CHECK(call)                                                                  \
  do {                                                                                          \
    const int flexcp_mpi_rc_ = (call);                                                          \
    if (flexcp_mpi_rc_ != MPI_SUCCESS)                                                          \
      throw ::flexcp::Error(std::string(#call) + " failed: " + ::flexcp::comm::mpi_error_string(flexcp_mpi_rc_)); \
  } while (0)
