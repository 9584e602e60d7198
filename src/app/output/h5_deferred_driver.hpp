#pragma once
// An HDF5 file driver (VFD) for a results file appended after every step. HDF5's writes wait in
// memory until H5Fflush, which writes the bytes past the file's end first (fsync) and overwrites
// the existing bytes (superblock, headers, B-tree nodes) last. So:
// - the disk holds one flushed state after another: a process killed between flushes leaves the
//   last flushed file, readable; only a kill inside the few pwrite calls of an overwrite can leave
//   it torn;
// - a full disk fails while the file still holds the last flushed state: the new tail is cut
//   off again and the file stays readable;
// - HDF5 never sees a failed write (no half-closed file for its exit handler, no error stack):
//   the first failure is kept, later writes are dropped, and the caller asks for it after each
//   flush with throw_if_write_failed.
// Every write goes through file_bytes.hpp (checked, FLEXCP_FAIL_WRITES_AFTER_BYTES honoured).
#include <hdf5.h>

#include "app/output/h5_handle.hpp"

namespace flexcp::h5 {

// A file-access property list that selects the driver.
H5Handle deferred_write_access();

// Throws the Error of the first failed disk write of `file` (created with deferred_write_access).
void throw_if_write_failed(hid_t file);

}  // namespace flexcp::h5
