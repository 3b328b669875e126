// PodNetwork through CNI: the node's network config is read at each attach (so changes in the
// config directory apply without a restart); the config and result of each attach are saved
// with the pod, so that DEL runs with them even after a restart or a config change.
#pragma once

#include <memory>

#include "cni/cni_client.h"
#include "runtime/pod_network.h"

namespace stockade {

class RuntimeSettings;

std::unique_ptr<PodNetwork> NewCniPodNetwork(const CniOptions& options,
                                             const RuntimeSettings& settings);

}  // namespace stockade
