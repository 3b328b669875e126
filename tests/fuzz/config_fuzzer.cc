// Operator input: the daemon's YAML config and CNI network configs.
#include <cstdint>
#include <string>

#include "cni/network_config_discovery.h"
#include "runtime/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<stockade::Config> config = stockade::ParseConfig(text, "fuzz.yaml");
  if (config.ok()) stockade::RenderConfigYaml(*config);
  stockade::ParseNetworkConfig("fuzz.conflist", text).IgnoreError();
  stockade::ParseNetworkConfig("fuzz.conf", text).IgnoreError();
  return 0;
}
