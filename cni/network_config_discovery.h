// Finds the pod network the way CNI runtimes do: the first file in the config directory, in
// lexical order, ending in .conflist, .conf or .json, that holds a valid network configuration.
// Used for the runtime's NetworkReady condition; the CNI client (cni/) loads the same file.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace stockade {

struct DiscoveredNetwork {
  std::string path;  // the file chosen
  std::string name;  // its "name"
  std::string cni_version;
  bool is_list = false;  // a .conflist with "plugins"
};

// NotFound when the directory holds no network config at all (or does not exist);
// InvalidArgument, naming the file and the problem, when the first candidate is malformed and
// no later one is valid.
absl::StatusOr<DiscoveredNetwork> DiscoverNetworkConfig(const std::string& conf_dir);

// Validates one config document; `path` is used in messages and to tell list from single.
absl::StatusOr<DiscoveredNetwork> ParseNetworkConfig(const std::string& path,
                                                     const std::string& text);

}  // namespace stockade
