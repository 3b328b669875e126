// Everything a front end runs on, assembled from the config in one place, for stockaded's CRI
// server and for nomad-driver-stockade alike: the private state and run dirs and the state
// dir's lock, the state store and its schema, the runtime settings, the image store and its
// registries, the platform backend (jails or namespaces, resource limits, snapshots), the CNI
// network and the runtime core, recovered. Heavy headers stay in the .cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"
#include "runtime/node_condition.h"

namespace stockade {

class ImageStore;
class RuntimeCore;
class RuntimeSettings;
class StateStore;

class NodeRuntime {
 public:
  // `version` is recorded in (and checked against) the state store's schema. `shim_path`:
  // the stockade-shim binary ("": next to the running binary).
  static absl::StatusOr<std::unique_ptr<NodeRuntime>> Open(const Config& config,
                                                           const std::string& version,
                                                           const std::string& shim_path = "");
  ~NodeRuntime();

  StateStore& store();
  RuntimeSettings& settings();
  ImageStore& images();
  RuntimeCore& core();
  // What the platform lacks that some pods need (FreeBSD without RACCT, say); empty when whole.
  const std::vector<NodeCondition>& conditions() const;

  struct Parts;

 private:
  explicit NodeRuntime(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace stockade
