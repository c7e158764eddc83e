// A file holding the fuzz input, for readers that take a path: an anonymous memory file
// (memfd_create) reached as /proc/self/fd/N, rewritten for every input (no disk traffic).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

inline const std::string& memfile(const uint8_t* data, size_t size) {
  static int fd = -1;
  static std::string path;
  if (fd < 0) {
    fd = memfd_create("tapeflow-fuzz", 0);
    if (fd < 0) { std::perror("memfd_create"); std::abort(); }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  if (ftruncate(fd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(fd, data + done, size - done, off_t(done));
    if (n <= 0) std::abort();
    done += size_t(n);
  }
  return path;
}

}  // namespace fuzz
