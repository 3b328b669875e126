// Starts writing a file range back to disk without waiting, so that the fsync which later makes
// a blob durable finds little left to do (the download and the disk then work at the same time).
#pragma once

#include <sys/types.h>

namespace stockade {

// Best effort; a no-op where the OS has no such call (writeback_<os>.cc).
void StartWriteback(int fd, off_t offset, off_t length);

}  // namespace stockade
