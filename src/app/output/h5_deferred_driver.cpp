#include "app/output/h5_deferred_driver.hpp"

#include <fcntl.h>
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

// One open file: the descriptor, its size on disk, and HDF5's writes since the last flush.
class DeferredFile {
 public:
  DeferredFile(int fd, std::string path, haddr_t size) : fd_(fd), path_(std::move(path)), disk_size_(size) {}
  ~DeferredFile() { ::close(fd_); }
  DeferredFile(const DeferredFile&) = delete;
  DeferredFile& operator=(const DeferredFile&) = delete;

  haddr_t eoa = 0;  // HDF5's end of allocated space
  haddr_t eof() const { return std::max(disk_size_, pending_end_); }
  std::exception_ptr failure() const { return failure_; }

  void write(haddr_t addr, std::size_t size, const void* buffer) {
    if (failure_) return;  // the disk keeps the last flushed state
    const auto* bytes = static_cast<const char*>(buffer);
    pending_.push_back({addr, std::vector<char>(bytes, bytes + size)});
    pending_end_ = std::max(pending_end_, addr + size);
  }

  // The disk's bytes with the pending writes laid over them, in order; zeros past the end.
  bool read(haddr_t addr, std::size_t size, void* buffer) const {
    auto* out = static_cast<char*>(buffer);
    std::fill(out, out + size, 0);
    for (std::size_t done = 0; addr + done < disk_size_ && done < size;) {
      const auto want = std::min<haddr_t>(size - done, disk_size_ - addr - done);
      const auto n = ::pread(fd_, out + done, want, static_cast<off_t>(addr + done));
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

  // Writes the pending bytes: past the old end first, then over the existing bytes; with
  // `size`, the file then has that size (HDF5's truncate to its allocated space).
  void sync(std::optional<haddr_t> size) {
    if (failure_) return drop();
    const haddr_t old = disk_size_;
    const haddr_t grown = std::max({old, pending_end_, size.value_or(0)});
    try {
      for (const auto& w : pending_) {
        const haddr_t end = w.addr + w.bytes.size(), from = std::max(w.addr, old);
        if (end > from) write_at(fd_, path_, {w.bytes.data() + (from - w.addr), end - from}, from);
      }
      if (grown > old) {
        resize(grown);
        sync_file(fd_, path_);
      }
    } catch (const Error&) {
      failure_ = std::current_exception();
      (void)::ftruncate(fd_, static_cast<off_t>(old));  // best effort: bytes past the superblock's end are ignored anyway
      return drop();
    }
    disk_size_ = grown;
    try {
      bool overwrote = false;
      for (const auto& w : pending_)
        if (w.addr < old) {
          write_at(fd_, path_, {w.bytes.data(), std::min<haddr_t>(w.bytes.size(), old - w.addr)}, w.addr);
          overwrote = true;
        }
      if (size && *size < disk_size_) {
        resize(*size);
        disk_size_ = *size;
      }
      if (overwrote) sync_file(fd_, path_);
    } catch (const Error&) {
      failure_ = std::current_exception();
    }
    drop();
  }

 private:
  struct Pending {
    haddr_t addr;
    std::vector<char> bytes;
  };
  void drop() {
    pending_.clear();
    pending_end_ = 0;
  }
  void resize(haddr_t size) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      throw Error("cannot write '" + path_ + "': ftruncate: " + std::strerror(errno));
  }

  int fd_;
  std::string path_;
  haddr_t disk_size_;
  haddr_t pending_end_ = 0;
  std::vector<Pending> pending_;
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
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  auto* f = new DriverFile{};
  f->file = new DeferredFile(fd, name, static_cast<haddr_t>(st.st_size));
  return &f->pub;
}

herr_t close_file(H5FD_t* f) {
  auto* d = reinterpret_cast<DriverFile*>(f);
  d->file->sync(std::nullopt);
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
herr_t flush(H5FD_t* f, hid_t, hbool_t) {
  // At least as long as the allocated space: a file shorter than its superblock says is refused
  // as truncated by every reader.
  of(f).sync(std::max(of(f).eoa, of(f).eof()));
  return 0;
}
herr_t truncate(H5FD_t* f, hid_t, hbool_t) {
  of(f).sync(of(f).eoa);
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

void throw_if_write_failed(hid_t file) {
  void* handle = nullptr;
  h5_check(H5Fget_vfd_handle(file, H5P_DEFAULT, &handle), "H5Fget_vfd_handle");
  if (const auto failure = static_cast<const DeferredFile*>(handle)->failure()) std::rethrow_exception(failure);
}

}  // namespace flexcp::h5
