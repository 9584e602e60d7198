#pragma once
// An HDF5 file driver (VFD) for a results file appended after every step, so that whenever the
// process dies (SIGKILL included) the file's name refers to a complete, readable file holding
// every flushed step, and a full disk leaves that file as it was:
// - HDF5's writes wait in memory until H5Fflush;
// - the file is kept as two copies, `<name>` and `<name>.shadow`: a flush writes the shadow
//   (the bytes of this flush and the one before: it lags one behind) and swaps the two names
//   atomically (RENAME_EXCHANGE; a link and a rename where the file system lacks it); fsync only
//   when the file closes (see DeferredFile::sync). The I/O per step is twice the step's bytes,
//   never the whole file; the disk holds two copies;
// - HDF5 never sees a failed write (no half-closed file for its exit handler, no error stack):
//   the first failure is kept, later writes are dropped, and the caller asks for it after each
//   flush with throw_if_write_failed.
// Every write goes through file_bytes.hpp (checked, FLEXCP_FAIL_WRITES_AFTER_BYTES honoured).
// The driver only creates files (H5Fcreate); a closed file has no shadow left.
#include <hdf5.h>

#include <string>

#include "app/output/h5_handle.hpp"

namespace flexcp::h5 {

// A file-access property list that selects the driver.
H5Handle deferred_write_access();

// Throws the Error of the first failed disk write of `file` (created with deferred_write_access).
void throw_if_write_failed(hid_t file);

// Renames `file` (its last flushed state) to `name`, replacing an existing file only when
// `replace`; from then on flushes swap `name` with the shadow.
void publish(hid_t file, const std::string& name, bool replace);

}  // namespace flexcp::h5
