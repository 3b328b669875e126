// What CNI plugins print and what network configs hold: results (PodIpsFromResult), network
// configs (CniNetwork::FromJson) and stockade-bridge's config. Any input fails cleanly, and an
// accepted config survives its own round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cni/bridge/bridge_plan.h"
#include "cni/cni_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<std::string>> ips = stockade::PodIpsFromResult(input);
  if (ips.ok() && ips->empty()) std::abort();  // success means at least one address
  absl::StatusOr<stockade::CniNetwork> net = stockade::CniNetwork::FromJson(input, {});
  if (net.ok()) {
    absl::StatusOr<stockade::CniNetwork> again = stockade::CniNetwork::FromJson(net->json(), {});
    if (!again.ok() || again->json() != net->json()) std::abort();
  }
  absl::StatusOr<stockade::bridge::BridgeConfig> bridge =
      stockade::bridge::ParseBridgeConfig(input);
  if (bridge.ok() && bridge->ranges.empty()) std::abort();
  return 0;
}
