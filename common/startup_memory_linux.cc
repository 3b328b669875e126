#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/startup_memory.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21  // Linux 5.4
#endif

namespace stockade {
namespace {

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

long ReleaseStartupMemory() {
  const long before = ResidentBytes();
  ::malloc_trim(0);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0, offset = 0, inode = 0;
    char perms[5] = {};
    char device[16] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %15s %lu", &start, &end, perms, &offset, device,
                    &inode) != 6) {
      continue;
    }
    // Only clean, file-backed mappings (code, read-only data): reclaiming them loses nothing.
    // The kernel skips pages that other processes also map.
    if (inode == 0 || perms[1] == 'w') continue;
    void* addr = reinterpret_cast<void*>(start);
    // Fault back only the page that is needed, not the 64 KiB around it (fault-around), so
    // the resident set stays the code that actually runs.
    ::madvise(addr, end - start, MADV_RANDOM);
    ::madvise(addr, end - start, MADV_PAGEOUT);
  }
  const long after = ResidentBytes();
  return before > after ? before - after : 0;
}

}  // namespace stockade
