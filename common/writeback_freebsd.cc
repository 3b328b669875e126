// Compiled on FreeBSD only (selected by CMake): no sync_file_range there; the final fsync does
// all the work.
#include "common/writeback.h"

namespace stockade {

void StartWriteback(int fd, off_t offset, off_t length) {}

}  // namespace stockade
