#pragma once
// Reads a [hardware] table (inputs/hardware/*.toml, documented in docs/cost-model.md) into a
// sched::HardwareProfile, converting from the units people quote (TFLOP/s, GB/s, us, GiB).
#include <toml++/toml.h>

#include <string>

#include "app/input/toml_reader.hpp"
#include "sched/hardware.hpp"

namespace flexcp {

// `origins`: the profile file of keys that came from cluster.hardware (named in errors).
sched::HardwareProfile read_hardware(const toml::table& table, const std::string& source, const KeyOrigins& origins = {});

}  // namespace flexcp
