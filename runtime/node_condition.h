// A condition of the node that the runtime reports beside RuntimeReady and NetworkReady (CRI
// Status; kubelet shows them, crictl info prints them): something the platform lacks that
// some pods need, with the operator's fix in the message.
#pragma once

#include <string>

namespace stockade {

struct NodeCondition {
  std::string type;  // "stockade.io/ResourceLimits"
  bool status = true;
  std::string reason;   // CamelCase, as kubelet's own reasons
  std::string message;  // what is missing and the line that fixes it
};

}  // namespace stockade
