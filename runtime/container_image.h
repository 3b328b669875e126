// What the runtime core needs of an image to make a container from it, and the seam that
// supplies it (the image store in the daemon, a fake in tests).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stockade {

struct ContainerImage {
  std::string id;    // sha256:<config digest>
  std::string name;  // what ContainerStatus reports as image: the first repo tag, "" if none
  std::string ref;   // what ContainerStatus reports as image_ref: a repo digest, else the id
  std::vector<std::string> layers;  // unpacked layer directories, base first
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::string os;  // the config's "os": "linux", "freebsd"
};

class ContainerImageSource {
 public:
  virtual ~ContainerImageSource() = default;
  // NotFound, naming the image and that it must be pulled, when the node does not have it.
  virtual absl::StatusOr<ContainerImage> Find(const std::string& image) = 0;
};

}  // namespace stockade
