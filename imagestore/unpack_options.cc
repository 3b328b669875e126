#include "imagestore/unpack_options.h"

#include <unistd.h>

namespace stockade {

UnpackOptions DefaultUnpackOptions() {
  UnpackOptions o;
  o.restore_owners = ::geteuid() == 0;
  o.allow_device_nodes = ::geteuid() == 0;
  return o;
}

}  // namespace stockade
