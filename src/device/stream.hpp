#pragma once
// CUDA streams and events owned by values (created in the constructor, destroyed in the
// destructor, moves only), labelled so errors say which one. Streams are non-blocking: they
// never synchronise with the legacy default stream, the stream NCCL and the kernels of one rank
// must not share by accident. Events order work between streams and time it.
#include <cuda_runtime_api.h>

#include <string>
#include <utility>

namespace flexcp::device {

class Stream {
 public:
  explicit Stream(std::string label);
  ~Stream();
  Stream(Stream&& other) noexcept : label_(std::move(other.label_)), stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  const std::string& label() const { return label_; }
  void synchronize() const;

 private:
  std::string label_;
  cudaStream_t stream_ = nullptr;
};

class Event {
 public:
  // timing = false makes a lighter event for ordering only (cudaEventDisableTiming).
  explicit Event(bool timing = true);
  ~Event();
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream) const;
  // Work later queued on `stream` waits for this event (no host blocking).
  void make_wait(cudaStream_t stream) const;
  void synchronize() const;
  // Milliseconds from `start` to this event; both recorded and complete.
  float elapsed_ms_since(const Event& start) const;

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace flexcp::device
