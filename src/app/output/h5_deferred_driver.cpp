#include "app/output/h5_deferred_driver.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "app/output/file_bytes.hpp"

namespace flexcp::h5 {
namespace {

[[noreturn]] void fail(const std::string& name, const char* what) {
  throw Error("cannot write '" + name + "': " + what + ": " + std::strerror(errno));
}

// Swaps two names atomically. Where the file system cannot (RENAME_EXCHANGE: NFS, some parallel
// file systems), `published` is still replaced atomically by rename, and its old file reaches
// `shadow` through a third name.
void swap_names(const std::string& shadow, const std::string& published) {
  if (::renameat2(AT_FDCWD, shadow.c_str(), AT_FDCWD, published.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) fail(published, "rename");
  const std::string previous = shadow + ".prev";
  if (::link(published.c_str(), previous.c_str()) != 0) fail(previous, "link");
  if (::rename(shadow.c_str(), published.c_str()) != 0) fail(published, "rename");
  if (::rename(previous.c_str(), shadow.c_str()) != 0) fail(shadow, "rename");
}

// One open file, kept as two copies: the front holds the last flushed state under the file's
// name; the back lags one flush behind under a shadow name. A flush writes the lagging and the
// new bytes into the back and swaps the two names, so the name always refers to a
// complete flushed state, whenever the process dies, and a failed write (a full disk) leaves it
// untouched. Twice the (small) bytes of each step, never the whole file.
class DeferredFile {
 public:
  DeferredFile(int fd, std::string name, haddr_t size, int shadow_fd, std::string shadow)
      : copies_{{fd, std::move(name), size}, {shadow_fd, std::move(shadow), 0}} {}
  ~DeferredFile() {
    ::close(copies_[0].fd);
    ::close(copies_[1].fd);
    ::unlink(back().name.c_str());  // a stale copy once the file is closed
  }
  DeferredFile(const DeferredFile&) = delete;
  DeferredFile& operator=(const DeferredFile&) = delete;

  haddr_t eoa = 0;  // HDF5's end of allocated space
  std::optional<haddr_t> truncate_to;  // HDF5's last truncate since the last sync
  haddr_t eof() const { return std::max(front().size, pending_end_); }
  std::exception_ptr failure() const { return failure_; }

  void write(haddr_t addr, std::size_t size, const void* buffer) {
    if (failure_) return;  // the file keeps the last flushed state
    const auto* bytes = static_cast<const char*>(buffer);
    pending_.push_back({addr, std::vector<char>(bytes, bytes + size)});
    pending_end_ = std::max(pending_end_, addr + size);
  }

  // The front's bytes with the pending writes laid over them, in order; zeros past the end.
  bool read(haddr_t addr, std::size_t size, void* buffer) const {
    auto* out = static_cast<char*>(buffer);
    std::fill(out, out + size, 0);
    const auto& f = front();
    for (std::size_t done = 0; addr + done < f.size && done < size;) {
      const auto want = std::min<haddr_t>(size - done, f.size - addr - done);
      const auto n = ::pread(f.fd, out + done, want, static_cast<off_t>(addr + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    for (const auto& w : pending_) {
      const haddr_t from = std::max(addr, w.addr), to = std::min(addr + size, w.addr + w.bytes.size());
      if (from < to) std::memcpy(out + (from - addr), w.bytes.data() + (from - w.addr), to - from);
    }
    return true;
  }

  // Makes the pending writes the file's state: as long as HDF5 last truncated it to, else at
  // least as long as its allocated space (a file shorter than its superblock says is refused as
  // truncated by every reader).
  void sync() {
    const haddr_t size = truncate_to ? *truncate_to : std::max(eoa, eof());
    truncate_to.reset();
    if (failure_ || (pending_.empty() && size == front().size)) return drop();
    auto& b = back();
    try {
      for (const auto* writes : {&lag_, &pending_})
        for (const auto& w : *writes) write_at(b.fd, b.name, w.bytes, w.addr);
      if (::ftruncate(b.fd, static_cast<off_t>(size)) != 0) fail(b.name, "ftruncate");
      // No fsync per flush: against the process dying (SIGKILL, the OOM killer, mpirun's kill
      // after SIGTERM) the swap alone keeps the name complete, since the page cache outlives the
      // process. An fsync only adds durability against an OS crash, and on a busy node it took
      // seconds (the file system writes out other processes' data with it): long enough for
      // mpirun's kill to land before a stopped run marked its file cut_short. The last state is
      // made durable when the file closes (make_durable).
      swap_names(b.name, front().name);
    } catch (const Error&) {
      failure_ = std::current_exception();
      return drop();
    }
    b.size = size;
    std::swap(copies_[0].name, copies_[1].name);
    front_ = 1 - front_;
    lag_ = std::move(pending_);
    drop();
  }

  // The last flushed state made durable (kept through an OS crash or power loss after the run).
  void make_durable() {
    if (failure_) return;
    try {
      sync_file(front().fd, front().name);
    } catch (const Error&) {
      failure_ = std::current_exception();
    }
  }

  // Gives the front (the last flushed state) the name `name`; an existing file there is
  // replaced only with `replace` (link fails on an existing name, where rename would not).
  void publish(const std::string& name, bool replace) {
    auto& f = copies_[front_];
    if (replace) {
      if (std::rename(f.name.c_str(), name.c_str()) != 0) fail(name, "rename");
    } else if (::link(f.name.c_str(), name.c_str()) != 0) {
      if (errno == EEXIST) throw Error("output '" + name + "' appeared while the run was starting; not overwritten");
      fail(name, "link");
    } else {
      ::unlink(f.name.c_str());
    }
    f.name = name;
  }

 private:
  struct Copy {
    int fd;
    std::string name;
    haddr_t size;
  };
  struct Pending {
    haddr_t addr;
    std::vector<char> bytes;
  };
  const Copy& front() const { return copies_[front_]; }
  Copy& back() { return copies_[1 - front_]; }
  const Copy& back() const { return copies_[1 - front_]; }
  void drop() {
    pending_.clear();
    pending_end_ = 0;
  }

  Copy copies_[2];
  int front_ = 0;
  std::vector<Pending> lag_;      // the last flush's writes, which the back copy lacks
  std::vector<Pending> pending_;  // HDF5's writes since the last flush
  haddr_t pending_end_ = 0;
  std::exception_ptr failure_;
};

// What HDF5 holds: its public part first, as every driver's file struct.
struct DriverFile {
  H5FD_t pub;
  DeferredFile* file;
};
DeferredFile& of(const H5FD_t* f) { return *reinterpret_cast<const DriverFile*>(f)->file; }

H5FD_t* open_file(const char* name, unsigned flags, hid_t, haddr_t) {
  int mode = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
  if (flags & H5F_ACC_CREAT) mode |= O_CREAT;
  if (flags & H5F_ACC_TRUNC) mode |= O_TRUNC;
  if (flags & H5F_ACC_EXCL) mode |= O_EXCL;
  const int fd = ::open(name, mode | O_CLOEXEC, 0666);
  if (fd < 0) return nullptr;  // errno stays for the caller's message
  // Only files created through the driver (results being written) have a shadow copy.
  const std::string shadow = std::string(name) + ".shadow";
  const int shadow_fd = ::open(shadow.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  struct stat st{};
  if (shadow_fd < 0 || ::fstat(fd, &st) != 0 || st.st_size != 0) {
    const int error = errno;
    if (shadow_fd >= 0) ::close(shadow_fd), ::unlink(shadow.c_str());
    ::close(fd);
    errno = error;
    return nullptr;
  }
  auto* f = new DriverFile{};
  f->file = new DeferredFile(fd, name, 0, shadow_fd, shadow);
  return &f->pub;
}

herr_t close_file(H5FD_t* f) {
  auto* d = reinterpret_cast<DriverFile*>(f);
  d->file->sync();
  d->file->make_durable();
  delete d->file;
  delete d;
  return 0;
}

herr_t query(const H5FD_t*, unsigned long* flags) {
  // As the sec2 driver, less the data sieve: its buffer (64 KiB) would be written whole at every
  // flush for a row of a few bytes.
  *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_AGGREGATE_SMALLDATA;
  return 0;
}

haddr_t get_eoa(const H5FD_t* f, H5FD_mem_t) { return of(f).eoa; }
herr_t set_eoa(H5FD_t* f, H5FD_mem_t, haddr_t addr) {
  of(f).eoa = addr;
  return 0;
}
haddr_t get_eof(const H5FD_t* f, H5FD_mem_t) { return of(f).eof(); }
herr_t get_handle(H5FD_t* f, hid_t, void** handle) {
  *handle = &of(f);
  return 0;
}
herr_t read(H5FD_t* f, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buffer) {
  return of(f).read(addr, size, buffer) ? 0 : -1;
}
herr_t write(H5FD_t* f, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void* buffer) {
  of(f).write(addr, size, buffer);
  return 0;
}
// HDF5 truncates the file to its allocated space before it writes out its metadata
// accumulator, then flushes: only the flush sees every write of the step, so only it syncs.
herr_t truncate(H5FD_t* f, hid_t, hbool_t) {
  of(f).truncate_to = of(f).eoa;
  return 0;
}
herr_t flush(H5FD_t* f, hid_t, hbool_t) {
  of(f).sync();
  return 0;
}

hid_t driver_id() {
  static const H5FD_class_t cls = [] {
    H5FD_class_t c{};
    c.name = "flexcp-deferred";
    c.maxaddr = static_cast<haddr_t>(INT64_MAX);
    c.fc_degree = H5F_CLOSE_WEAK;
    c.open = open_file;
    c.close = close_file;
    c.query = query;
    c.get_eoa = get_eoa;
    c.set_eoa = set_eoa;
    c.get_eof = get_eof;
    c.get_handle = get_handle;
    c.read = read;
    c.write = write;
    c.flush = flush;
    c.truncate = truncate;
    const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
    std::copy(std::begin(map), std::end(map), c.fl_map);
    return c;
  }();
  static const hid_t id = H5FDregister(&cls);  // once per process, as HDF5's own drivers
  if (id < 0) throw Error("HDF5 call failed: H5FDregister");
  return id;
}
}  // namespace

H5Handle deferred_write_access() {
  H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  h5_check(H5Pset_driver(fapl.get(), driver_id(), nullptr), "H5Pset_driver");
  return fapl;
}

namespace {
DeferredFile& deferred(hid_t file) {
  void* handle = nullptr;
  h5_check(H5Fget_vfd_handle(file, H5P_DEFAULT, &handle), "H5Fget_vfd_handle");
  return *static_cast<DeferredFile*>(handle);
}
}  // namespace

void throw_if_write_failed(hid_t file) {
  if (const auto failure = deferred(file).failure()) std::rethrow_exception(failure);
}

void publish(hid_t file, const std::string& name, bool replace) { deferred(file).publish(name, replace); }

}  // namespace flexcp::h5
