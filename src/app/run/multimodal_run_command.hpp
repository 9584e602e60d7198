#pragma once
// `flexcp run` on an input with [multimodal]: every placement of multimodal.placements (by
// default llm-centric, the baseline, then colocated and non-colocated) runs the same seeded
// stream of interleaved batches, each step executed end to end (app/run/multimodal_step.hpp),
// measured per component and rank, its bytes held to the models'; the first measured step of
// each placement checked against the float64 reference of the whole chain. Rank 0 rewrites the
// results file (kind "run-multimodal") after every step, as a plain run does.
#include "app/commands.hpp"
#include "app/input/config.hpp"
#include "app/output/results_file.hpp"
#include "app/run/backend.hpp"
#include "comm/mpi_world.hpp"
#include "sched/cluster.hpp"

namespace flexcp {

// Collective. Returns the exit code: failure when a placement's check or bytes failed.
int run_multimodal_command(const RunOptions& options, comm::MpiWorld& world, const Config& config,
                           const sched::Cluster& cluster, ExecutionBackend& backend, RunMetadata& meta);

}  // namespace flexcp
