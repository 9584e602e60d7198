#pragma once
// Small collectives around the data path: configuration broadcast, agreement on failures,
// metrics and result gathering to rank 0. Blocking, on a given comm; the application reaches
// them through comm::World (mpi_world.hpp).
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flexcp::comm {

void broadcast(MPI_Comm comm, std::string& text, int root = 0);
void broadcast(MPI_Comm comm, std::vector<std::int64_t>& values, int root = 0);
void broadcast(MPI_Comm comm, std::vector<double>& values, int root = 0);

// Every rank passes its own error (or none); every rank gets the error of the lowest failing
// rank, or none when all succeeded. Lets ranks fail together instead of leaving peers waiting.
std::optional<std::string> agree_on_failure(MPI_Comm comm, const std::optional<std::string>& local_error);

double allreduce_max(MPI_Comm comm, double value);
double allreduce_min(MPI_Comm comm, double value);

// Concatenation of every rank's equal-length `mine` in rank order, on `root` only.
std::vector<double> gather_to_root(MPI_Comm comm, const std::vector<double>& mine, int root = 0);

// Reassembles a distributed tensor on `root`: rank r holds rows[i] of the global tensor at
// local row i (each row `row_width` floats). Returns total_rows * row_width floats on root.
std::vector<float> gather_rows_to_root(MPI_Comm comm, const float* local, const std::vector<std::int64_t>& rows,
                                       std::int64_t row_width, std::int64_t total_rows, int root = 0);

}  // namespace flexcp::comm
