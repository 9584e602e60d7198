#include "app/output/run_results_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <numeric>

#include "app/output/comparison.hpp"
#include "app/output/h5_deferred_driver.hpp"
#include "app/output/h5_helpers.hpp"
#include "app/output/h5_series.hpp"

namespace flexcp {
namespace {
void write_emulation(hid_t root, const EmulatedNetwork& e) {
  auto g = h5::create_group(root, "emulation");
  h5::string_attribute(g.get(), "profile", e.profile);
  h5::string_attribute(g.get(), "profile_file", e.profile_file);
  h5::double_attribute(g.get(), "dilation", e.dilation);
  h5::int_attribute(g.get(), "nodes", e.nodes);
  h5::int_attribute(g.get(), "ranks_per_node", e.ranks_per_node);
  std::string namespaces;
  for (const auto& ns : e.namespaces) namespaces += (namespaces.empty() ? "" : " ") + ns;
  h5::string_attribute(g.get(), "namespaces", namespaces);
  h5::double_attribute(g.get(), "link_gbps", e.link_gbps);
  h5::double_attribute(g.get(), "link_delay_ms", e.link_delay_ms);
  h5::string_attribute(g.get(), "links", e.links);
  h5::double_attribute(g.get(), "byte_scale", e.byte_scale);
  h5::double_attribute(g.get(), "cpu_quota", e.cpu_quota);
  h5::double_attribute(g.get(), "rank_gflops", e.rank_gflops);
  h5::string_attribute(g.get(), "calibration", e.calibration);
}

// /topology/rank: the rank axis' dimension scale, attached to every [R] and [S, R] dataset.
H5Handle rank_scale(hid_t root, int nranks) {
  H5Handle topology(H5Gopen2(root, "topology", H5P_DEFAULT), H5Gclose, "topology");
  std::vector<long long> ranks(static_cast<std::size_t>(nranks));
  std::iota(ranks.begin(), ranks.end(), 0LL);
  h5::dataset(topology.get(), "rank", ranks, {ranks.size()}, "1", "MPI rank: the rank axis of per-rank datasets");
  H5Handle scale(H5Dopen2(topology.get(), "rank", H5P_DEFAULT), H5Dclose, "topology/rank");
  h5::make_scale(scale.get(), "rank");
  for (const char* name : {"node_of_rank", "local_rank"}) {
    H5Handle set(H5Dopen2(topology.get(), name, H5P_DEFAULT), H5Dclose, name);
    h5::attach_scale(set.get(), scale.get(), 0);
  }
  return scale;
}
}  // namespace

RunResultsFile::RunResultsFile(std::filesystem::path path, const RunMetadata& meta, bool force)
    : path_(std::move(path)), temporary_(path_.string() + ".tmp." + std::to_string(::getpid())), force_(force),
      nranks_(meta.nranks) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failures become Errors naming the call, not a stack dump
  const auto access = h5::deferred_write_access();
  // Chunk index nodes of 2 x 8 entries instead of 2 x 32: a short run's file is a third the
  // size, and a long run's index is a level or two deeper.
  H5Handle create(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "H5Pcreate");
  h5_check(H5Pset_istore_k(create.get(), 8), "H5Pset_istore_k");
  const hid_t id = H5Fcreate(temporary_.c_str(), H5F_ACC_EXCL, create.get(), access.get());
  if (id < 0) throw Error("cannot create '" + temporary_ + "': " + std::strerror(errno));
  file_ = H5Handle(id, H5Fclose, temporary_.c_str());
  try {
    const hid_t root = file_.get();
    write_common_attributes(root, meta, "run");
    h5::int_attribute(root, "schema_version", kRunResultsSchemaVersion);
    h5::string_attribute(root, "status", "running");
    h5::int_attribute(root, "steps_requested", meta.steps_requested);
    if (meta.emulation) write_emulation(root, *meta.emulation);
    rank_scale_ = rank_scale(root, meta.nranks);
    runs_ = h5::create_group(root, "runs");
    flush();
  } catch (...) {
    close();
    throw;
  }
}

RunResultsFile::~RunResultsFile() { close(); }

// HDF5 objects before the file; a temporary never published holds no step and goes.
void RunResultsFile::close() {
  strategies_.clear();
  runs_.reset();
  rank_scale_.reset();
  file_.reset();
  std::error_code ignored;
  if (!published_) std::filesystem::remove(temporary_, ignored);
}

void RunResultsFile::update(const std::vector<StrategyResult>& results) {
  bool begun = false;
  while (strategies_.size() < results.size()) {
    strategies_.push_back(std::make_unique<StrategySeries>(runs_.get(), results[strategies_.size()], rank_scale_.get(), nranks_));
    begun = true;
  }
  if (begun) write_summaries(results);
  bool appended = false;
  for (std::size_t i = 0; i < results.size(); ++i)
    for (auto& series = *strategies_[i]; series.rows() < results[i].steps.size(); appended = true)
      series.append(results[i].steps[series.rows()]);
  if (!begun && !appended) return;
  flush();
  if (appended && !published_) publish();
}

void RunResultsFile::finish(const std::vector<StrategyResult>& results, const char* status) {
  update(results);
  write_summaries(results);
  h5::string_attribute(file_.get(), "status", status);
  flush();
  if (!published_) publish();
  close();
}

void RunResultsFile::write_summaries(const std::vector<StrategyResult>& results) {
  if (results.empty()) return;
  h5::string_attribute(runs_.get(), "baseline", results[baseline_index(results)].name);
  const auto summaries = summarize(results);
  for (std::size_t i = 0; i < strategies_.size(); ++i) strategies_[i]->write_summary(results[i], summaries[i]);
}

void RunResultsFile::flush() {
  h5_check(H5Fflush(file_.get(), H5F_SCOPE_LOCAL), "H5Fflush");
  h5::throw_if_write_failed(file_.get());
}

// The first flushed step makes the file the result, under its final name.
void RunResultsFile::publish() {
  h5::publish(file_.get(), path_.string(), force_);
  published_ = true;
}

}  // namespace flexcp
