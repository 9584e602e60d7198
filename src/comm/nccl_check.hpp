#pragma once
// FLEXCP_NCCL_CHECK(call): a failing NCCL call becomes a flexcp::Error naming the call, NCCL's
// error string and last error message, file:line and rank (NCCL's NCCLCHECK, with context).
// ncclInProgress passes: flexcp's communicators are non-blocking, and an operation in progress
// is not done. Whoever issues one settles the communicator afterwards
// (NcclCommunicator::settle), before recording an event or using a result.
#include <nccl.h>

#include <string>

#include "common/error.hpp"

#define FLEXCP_NCCL_CHECK(call)                                                                     \
  do {                                                                                              \
    const ncclResult_t flexcp_nccl_rc_ = (call);                                                    \
    if (flexcp_nccl_rc_ != ncclSuccess && flexcp_nccl_rc_ != ncclInProgress)                        \
      throw ::flexcp::Error(std::string(#call) + " failed: " + ncclGetErrorString(flexcp_nccl_rc_) + \
                            " (" + ncclGetLastError(nullptr) + ")");                                \
  } while (0)
