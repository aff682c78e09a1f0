// Shared by the fuzz targets: a private scratch folder (in /dev/shm when it exists) where an
// input is written as the files the readers open by path.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

inline const std::string& fuzz_dir() {
  static const std::string dir = [] {
    struct stat st;
    const std::string base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
    std::string d = base + "/tuner-fuzz-" + std::to_string(getpid());
    mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}

inline void fuzz_write(const std::string& path, const void* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
}
