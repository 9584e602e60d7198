#include "comm/collectives.hpp"

#include <algorithm>
#include <climits>

#include "comm/mpi_check.hpp"

namespace flexcp::comm {
namespace {
int rank_of(MPI_Comm comm) {
  int rank = 0;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  return rank;
}
int size_of(MPI_Comm comm) {
  int size = 0;
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm, &size));
  return size;
}
int as_count(std::int64_t n) {
  FLEXCP_CHECK(n >= 0 && n <= INT_MAX, "collective of " + std::to_string(n) + " elements exceeds MPI's int count");
  return static_cast<int>(n);
}

template <class T>
void broadcast_vector(MPI_Comm comm, std::vector<T>& values, MPI_Datatype type, int root) {
  std::int64_t length = static_cast<std::int64_t>(values.size());
  FLEXCP_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm));
  values.resize(static_cast<std::size_t>(length));
  FLEXCP_MPI_CHECK(MPI_Bcast(values.data(), as_count(length), type, root, comm));
}
}  // namespace

void broadcast(MPI_Comm comm, std::string& text, int root) {
  std::int64_t length = static_cast<std::int64_t>(text.size());
  FLEXCP_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm));
  text.resize(static_cast<std::size_t>(length));
  FLEXCP_MPI_CHECK(MPI_Bcast(text.data(), as_count(length), MPI_CHAR, root, comm));
}

void broadcast(MPI_Comm comm, std::vector<std::int64_t>& values, int root) {
  broadcast_vector(comm, values, MPI_INT64_T, root);
}

void broadcast(MPI_Comm comm, std::vector<double>& values, int root) { broadcast_vector(comm, values, MPI_DOUBLE, root); }

std::optional<std::string> agree_on_failure(MPI_Comm comm, const std::optional<std::string>& local_error) {
  const int mine = local_error ? rank_of(comm) : INT_MAX;
  int first = INT_MAX;
  FLEXCP_MPI_CHECK(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == INT_MAX) return std::nullopt;
  std::string message = local_error.value_or("");
  broadcast(comm, message, first);
  return message;
}

double allreduce_max(MPI_Comm comm, double value) {
  double out = 0.0;
  FLEXCP_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm));
  return out;
}

double allreduce_min(MPI_Comm comm, double value) {
  double out = 0.0;
  FLEXCP_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MIN, comm));
  return out;
}

std::vector<double> gather_to_root(MPI_Comm comm, const std::vector<double>& mine, int root) {
  const bool is_root = rank_of(comm) == root;
  std::vector<double> all(is_root ? mine.size() * static_cast<std::size_t>(size_of(comm)) : 0);
  const int count = as_count(static_cast<std::int64_t>(mine.size()));
  FLEXCP_MPI_CHECK(MPI_Gather(mine.data(), count, MPI_DOUBLE, all.data(), count, MPI_DOUBLE, root, comm));
  return all;
}

std::vector<float> gather_rows_to_root(MPI_Comm comm, const float* local, const std::vector<std::int64_t>& rows,
                                       std::int64_t row_width, std::int64_t total_rows, int root) {
  const int size = size_of(comm);
  const bool is_root = rank_of(comm) == root;
  const int my_rows = as_count(static_cast<std::int64_t>(rows.size()));
  std::vector<int> row_counts(static_cast<std::size_t>(size));
  FLEXCP_MPI_CHECK(MPI_Gather(&my_rows, 1, MPI_INT, row_counts.data(), 1, MPI_INT, root, comm));

  std::vector<int> index_displs(static_cast<std::size_t>(size), 0), value_counts(row_counts.size()),
      value_displs(row_counts.size(), 0);
  std::int64_t gathered_rows = 0;
  if (is_root) {
    for (int r = 0; r < size; ++r) {
      const auto i = static_cast<std::size_t>(r);
      index_displs[i] = as_count(gathered_rows);
      value_counts[i] = as_count(row_counts[i] * row_width);
      value_displs[i] = as_count(gathered_rows * row_width);
      gathered_rows += row_counts[i];
    }
  }
  std::vector<std::int64_t> all_rows(static_cast<std::size_t>(gathered_rows));
  FLEXCP_MPI_CHECK(MPI_Gatherv(rows.data(), my_rows, MPI_INT64_T, all_rows.data(), row_counts.data(),
                               index_displs.data(), MPI_INT64_T, root, comm));
  std::vector<float> values(static_cast<std::size_t>(gathered_rows * row_width));
  FLEXCP_MPI_CHECK(MPI_Gatherv(local, as_count(my_rows * row_width), MPI_FLOAT, values.data(), value_counts.data(),
                               value_displs.data(), MPI_FLOAT, root, comm));
  if (!is_root) return {};
  FLEXCP_CHECK(gathered_rows == total_rows, "gathered " + std::to_string(gathered_rows) + " rows, expected " +
                                                std::to_string(total_rows));
  std::vector<float> global(static_cast<std::size_t>(total_rows * row_width));
  for (std::int64_t i = 0; i < gathered_rows; ++i) {
    const auto row = all_rows[static_cast<std::size_t>(i)];
    FLEXCP_CHECK(row >= 0 && row < total_rows, "gathered row index out of range");
    std::copy_n(values.begin() + i * row_width, row_width, global.begin() + row * row_width);
  }
  return global;
}

}  // namespace flexcp::comm
