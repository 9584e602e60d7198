#include "app/output/results_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "build_info.hpp"
#include "app/input/regular_file.hpp"
#include "app/output/h5_helpers.hpp"

namespace flexcp {

void check_output_path(const std::filesystem::path& path, bool force) {
  namespace fs = std::filesystem;
  if (path.empty()) throw ConfigError("no output file: set run.output in the input or pass --out FILE");
  const auto dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(fs::status(dir, ec)))
    throw ConfigError("output '" + path.string() + "': directory '" + dir.string() + "' does not exist (create it first)");
  // symlink_status: a dangling symbolic link exists too, and is not silently replaced.
  const auto link = fs::symlink_status(path, ec);
  if (fs::exists(link)) {
    const auto target = fs::status(path, ec);
    if (fs::is_symlink(link) && !fs::exists(target) && !force)
      throw ConfigError("output '" + path.string() + "' is a symbolic link to '" + fs::read_symlink(path, ec).string() +
                        "', which does not exist; pass --force to replace the link, or name another file");
    if (fs::exists(target) && !fs::is_regular_file(target))
      throw ConfigError("output '" + path.string() + "' is " + file_kind(target.type()) +
                        ", not a regular file: results are written only to regular files (name a file, e.g. --out "
                        "results/run.h5)");
    if (!force) throw ConfigError("output '" + path.string() + "' already exists; pass --force to overwrite it");
  }
  // Can files be created beside it? (permissions, a read-only or immutable directory, /proc): find
  // out now, before any work, with the temporary name the writer will use.
  const auto probe = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw ConfigError("output '" + path.string() + "': cannot create files in directory '" + dir.string() +
                      "': " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_common_attributes(hid_t root, const RunMetadata& meta, const char* kind) {
  h5::int_attribute(root, "schema_version", kResultsSchemaVersion);
  h5::string_attribute(root, "kind", kind);
  h5::string_attribute(root, "flexcp_version", build_info::version);
  h5::string_attribute(root, "git_sha", build_info::git_sha);
  h5::string_attribute(root, "command_line", meta.command_line);
  h5::string_attribute(root, "config_toml", meta.config_toml);
  h5::string_attribute(root, "created_utc", meta.created_utc);
  h5::int_attribute(root, "nranks", meta.nranks);
  h5::int_attribute(root, "nnodes", meta.nnodes);
  auto topology = h5::create_group(root, "topology");
  h5::int_attribute(topology.get(), "emulated_ranks_per_node", meta.emulated_ranks_per_node);
  const std::vector<hsize_t> n{static_cast<hsize_t>(meta.nranks)};
  h5::dataset(topology.get(), "node_of_rank", std::vector<long long>(meta.node_of_rank.begin(), meta.node_of_rank.end()), n,
              "1", "node index of each rank");
  h5::dataset(topology.get(), "local_rank", std::vector<long long>(meta.local_rank.begin(), meta.local_rank.end()), n, "1",
              "rank index on its node");
  write_provenance(root, meta.provenance);
}

}  // namespace flexcp
