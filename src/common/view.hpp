#pragma once
// A non-owning view of a contiguous array that knows where it lives (host or device memory) and
// what its elements are (fp32, or bf16 operands on the device). Kernels, transports and group
// collectives all take views, so a host pointer handed to a device backend (or the reverse) is
// an error with a message instead of a crash. Below attn/ and comm/, which both use it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace flexcp {

enum class MemorySpace : std::uint8_t { host, device };
enum class Element : std::uint8_t { fp32, bf16 };

inline const char* to_string(MemorySpace space) { return space == MemorySpace::host ? "host" : "device"; }
inline const char* to_string(Element element) { return element == Element::fp32 ? "fp32" : "bf16"; }
inline std::size_t element_bytes(Element element) { return element == Element::fp32 ? 4 : 2; }

struct View {
  void* data = nullptr;
  std::int64_t count = 0;  // elements
  Element element = Element::fp32;
  MemorySpace space = MemorySpace::host;

  std::size_t bytes() const { return static_cast<std::size_t>(count) * element_bytes(element); }
  bool empty() const { return count == 0; }

  // Elements [offset, offset + elements) of this view.
  View slice(std::int64_t offset, std::int64_t elements) const {
    FLEXCP_CHECK(offset >= 0 && elements >= 0 && offset + elements <= count,
                 "slice [" + std::to_string(offset) + ", +" + std::to_string(elements) + ") of a view of " +
                     std::to_string(count) + " elements");
    return {static_cast<char*>(data) + static_cast<std::size_t>(offset) * element_bytes(element), elements, element,
            space};
  }
  // The data as fp32, for code that only handles fp32.
  float* floats() const {
    FLEXCP_CHECK(element == Element::fp32, std::string("a view of ") + to_string(element) + " used as fp32");
    return static_cast<float*>(data);
  }
  // Throws naming `what` unless this view lives in `expected`.
  void require(MemorySpace expected, const char* what) const {
    if (space != expected)
      throw Error(std::string(what) + ": a " + to_string(space) + " buffer where " + to_string(expected) +
                  " memory is needed");
  }
};

// A KV message: K of its tokens, then V of the same tokens (the layout every executor sends).
struct KvViews {
  View k, v;
};
inline KvViews split_kv(const View& kv) {
  FLEXCP_CHECK(kv.count % 2 == 0, "a KV message has an even number of elements");
  return {kv.slice(0, kv.count / 2), kv.slice(kv.count / 2, kv.count / 2)};
}

}  // namespace flexcp
