// Nomad's input: go-cty msgpack of the plugin's config block and of a task's config block,
// through the decoder and both schema checks, and the driver state of a task handle.
#include <cstdint>
#include <string>

#include "nomad-driver/config_schema.h"
#include "nomad-driver/cty_value.h"
#include "nomad-driver/driver_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  stockade::nomad::DecodeCtyMsgpack(bytes).IgnoreError();
  stockade::nomad::DecodePluginConfig(bytes).IgnoreError();
  stockade::nomad::DecodeTaskDriverConfig(bytes).IgnoreError();
  stockade::nomad::DecodeDriverState(bytes).IgnoreError();
  return 0;
}
