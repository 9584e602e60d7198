// The results file's HDF5 driver and extendible series (h5_deferred_driver.hpp, h5_series.hpp):
// after every flush the published name is a complete file another reader opens with HDF5's
// default driver, holding exactly the rows flushed; nothing is left beside it once closed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/output/h5_deferred_driver.hpp"
#include "app/output/h5_series.hpp"

using namespace flexcp;
namespace fs = std::filesystem;

namespace {
// Rows of dataset `name` in the file at `path`, read as a separate reader would, or -1.
long long rows_on_disk(const std::string& path, const char* name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return -1;
  H5Handle owner(file, H5Fclose, "H5Fopen");
  H5Handle set(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, name);
  H5Handle space(H5Dget_space(set.get()), H5Sclose, "H5Dget_space");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<long long> values(dims[0] * 2);
  h5_check(H5Dread(set.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "H5Dread");
  for (hsize_t i = 0; i < values.size(); ++i)
    if (values[i] != static_cast<long long>(i)) return -2;  // a row that is not what was appended
  return static_cast<long long>(dims[0]);
}
}  // namespace

TEST(DeferredDriver, EveryFlushLeavesACompleteFileUnderThePublishedName) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const fs::path dir = fs::temp_directory_path() / ("flexcp-driver-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string temporary = (dir / "r.h5.tmp").string(), published = (dir / "r.h5").string();
  {
    const auto access = h5::deferred_write_access();
    H5Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()), H5Fclose, "H5Fcreate");
    h5::Series series(file.get(), "rows", H5T_NATIVE_LLONG, 2, "1", "two counts per row");
    for (long long row = 0; row < 300; ++row) {  // several chunks (64 rows of 2 each)
      series.append(std::vector<long long>{2 * row, 2 * row + 1});
      h5_check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "H5Fflush");
      h5::throw_if_write_failed(file.get());
      if (row == 0) h5::publish(file.get(), published, false);
      ASSERT_EQ(rows_on_disk(published, "rows"), row + 1) << "after flush " << row;
    }
    EXPECT_FALSE(fs::exists(temporary));
    EXPECT_TRUE(fs::exists(temporary + ".shadow"));  // the copy one flush behind
  }
  EXPECT_EQ(rows_on_disk(published, "rows"), 300);
  EXPECT_EQ(std::vector<fs::path>(fs::directory_iterator(dir), fs::directory_iterator()).size(), 1u);
  fs::remove_all(dir);
}

TEST(DeferredDriver, PublishNeverReplacesAnExistingFileUnlessAsked) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const fs::path dir = fs::temp_directory_path() / ("flexcp-driver-publish-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string temporary = (dir / "r.h5.tmp").string(), published = (dir / "r.h5").string();
  std::ofstream(published) << "precious";
  const auto access = h5::deferred_write_access();
  H5Handle file(H5Fcreate(temporary.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()), H5Fclose, "H5Fcreate");
  h5_check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "H5Fflush");
  EXPECT_THROW(h5::publish(file.get(), published, false), Error);
  EXPECT_EQ(fs::file_size(published), 8u);
  h5::publish(file.get(), published, true);
  EXPECT_GT(H5Fis_hdf5(published.c_str()), 0);
  file.reset();
  fs::remove_all(dir);
}
