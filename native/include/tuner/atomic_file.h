// A file written under a temporary name beside its destination and renamed into place only
// when every byte reached the disk (fflush + fsync), so a reader — or a run killed mid-write —
// sees the old file or the whole new one, never half of it.
#pragma once
#include <cstdio>
#include <string>

namespace tuner {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // opens <path>.tmp-<pid>; TunerError if it cannot
  ~AtomicFile();                          // not committed: closes and removes the temp file
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  FILE* file() { return f_; }
  // ok: every write succeeded. Flushes, syncs, closes and renames; TunerError naming the path
  // if any of it (or ok) failed, with the temp file removed.
  void commit(bool ok);

 private:
  std::string path_, tmp_;
  FILE* f_ = nullptr;
};

}  // namespace tuner
