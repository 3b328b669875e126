#include <fcntl.h>

#include "common/writeback.h"

namespace stockade {

void StartWriteback(int fd, off_t offset, off_t length) {
  ::sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

}  // namespace stockade
