#include "app/input/machine_memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

namespace flexcp {
namespace {
constexpr double kUnlimited = std::numeric_limits<double>::infinity();

double meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string name, unit;
  double kib = 0.0;
  while (in >> name >> kib) {
    std::getline(in, unit);
    if (name == "MemAvailable:") return kib * 1024.0;
  }
  return kUnlimited;
}

// A number from a cgroup file, or unlimited ("max", absent, or v1's huge sentinel).
double cgroup_number(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return kUnlimited;
  try {
    const double value = std::stod(text);
    return value >= 0x1p60 ? kUnlimited : value;
  } catch (const std::exception&) {
    return kUnlimited;
  }
}

double cgroup_headroom() {
  const double v2 = cgroup_number("/sys/fs/cgroup/memory.max") - cgroup_number("/sys/fs/cgroup/memory.current");
  const double v1 = cgroup_number("/sys/fs/cgroup/memory/memory.limit_in_bytes") -
                    cgroup_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  auto usable = [](double x) { return x == x ? x : kUnlimited; };  // inf - inf is NaN: no limit
  return std::min(usable(v2), usable(v1));
}

// kB of a line of /proc/self/status ("VmSize:", "VmData:"), in bytes.
double self_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) {
      std::istringstream rest(line.substr(field.size()));
      double kib = 0.0;
      rest >> kib;
      return kib * 1024.0;
    }
  return 0.0;
}

// What a resource limit leaves, after what this process already uses of it.
double rlimit_headroom(int resource, const std::string& used_field) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kUnlimited;
  return static_cast<double>(limit.rlim_cur) - self_status_bytes(used_field);
}
}  // namespace

MachineMemory machine_memory() {
  MachineMemory m{meminfo_available(), "the machine's available memory (MemAvailable)"};
  auto least = [&](double bytes, const char* what) {
    if (bytes < m.available_bytes) m = {bytes, what};
  };
  least(cgroup_headroom(), "the cgroup's memory limit");
  least(rlimit_headroom(RLIMIT_AS, "VmSize:"), "the address-space limit (ulimit -v)");
  least(rlimit_headroom(RLIMIT_DATA, "VmData:"), "the data-segment limit (ulimit -d)");
  return m;
}

}  // namespace flexcp
