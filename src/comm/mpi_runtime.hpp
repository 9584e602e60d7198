#pragma once
// MPI lifetime as an object: initialised in the constructor, finalised in the destructor, so
// every exit path that unwinds finalises. A rank that fails while others may be inside a
// collective must not unwind into MPI_Finalize (that would hang them): it calls abort_all().
#include <mpi.h>

#include <memory>
#include <string>

#include "comm/mpi_world.hpp"

namespace flexcp::comm {

class MpiRuntime {
 public:
  MpiRuntime(int& argc, char**& argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The job, for the application (MPI_COMM_WORLD with MPI_ERRORS_RETURN).
  MpiWorld& world() { return *world_; }

  // Tells every rank to stop (MPI_Abort on the world): the only safe exit when one rank fails
  // alone. Never returns.
  [[noreturn]] static void abort_all(int exit_code);

  // The MPI library's first line (e.g. "Open MPI v4.1.4"), for headers.
  static std::string library_version();
  // Its whole text, every line (MPICH and Cray MPICH add build and configure details), for
  // provenance in results files; trailing whitespace removed.
  static std::string library_version_text();

 private:
  int rank_ = 0;
  int size_ = 1;
  std::unique_ptr<MpiWorld> world_;
};

}  // namespace flexcp::comm
