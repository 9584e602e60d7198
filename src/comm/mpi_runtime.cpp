#include "comm/mpi_runtime.hpp"

#include <cctype>
#include <cstdio>

#include "comm/mpi_check.hpp"

namespace flexcp::comm {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

MpiRuntime::MpiRuntime(int& argc, char**& argv) {
  int provided = 0;
  // FUNNELED: only the main thread calls MPI; Kokkos host threads (if any) never do.
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "flexcp: MPI_Init_thread failed\n");
    std::exit(1);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  set_error_rank(rank_);
  world_ = std::make_unique<MpiWorld>(MPI_COMM_WORLD);
}

MpiRuntime::~MpiRuntime() {
  world_.reset();
  MPI_Finalize();
}

void MpiRuntime::abort_all(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

std::string MpiRuntime::library_version_text() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  // Callable before MPI_Init and after MPI_Finalize, like MPI_Get_version.
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown (MPI_Get_library_version failed)";
  std::string version(text, static_cast<std::size_t>(length));
  // Some libraries count the terminating NUL in `length` or end with a newline.
  while (!version.empty() && (version.back() == '\0' || std::isspace(static_cast<unsigned char>(version.back()))))
    version.pop_back();
  return version;
}

std::string MpiRuntime::library_version() {
  std::string version = library_version_text();
  if (auto newline = version.find_first_of("\n,"); newline != std::string::npos) version.resize(newline);
  return version;
}

}  // namespace flexcp::comm
