#pragma once
// The input of `flexcp run`, the same on every rank: rank 0 reads the file, applies --set and
// --out, resolves included files, checks everything (keys, strategies, backend, output path)
// and saves the resolved input when asked; every rank then builds the same Config from the
// resolved text and rank 0's dataset samples, so no other rank touches the file system. A bad
// input fails on every rank together (all_or_none), with rank 0's message.
#include "app/commands.hpp"
#include "app/input/config.hpp"
#include "comm/world.hpp"

namespace flexcp {

// Collective.
Config load_run_input(const RunOptions& options, comm::World& world);

}  // namespace flexcp
