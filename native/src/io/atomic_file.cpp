#include "tuner/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tuner/error.h"

namespace tuner {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(getpid())) {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) throw TunerError("io_error", tmp_ + ": cannot create (" + std::strerror(errno) + ")", "Check that the folder exists and is writable.");
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::commit(bool ok) {
  ok = ok && std::fflush(f_) == 0 && fsync(fileno(f_)) == 0;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    std::remove(tmp_.c_str());
    throw TunerError("io_error", path_ + ": write failed (" + std::strerror(err) + ")", "Check free disk space and permissions.");
  }
}

}  // namespace tuner
