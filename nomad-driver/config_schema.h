// The plugin block's and the task `config {}` block's attributes: one table per block, from
// which ConfigSchema / TaskConfigSchema build their hclspec and the decoders check what Nomad
// sends (every attribute present, unset ones null; a key that is not in the table is an error).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nomad-driver/cty_value.h"

namespace stockade::nomad {

// kCredentialsBlock: a block `name { username = "..." password = "..." }` (as Docker's auth),
// which Nomad also accepts written as `name = { ... }`.
enum class AttrType {
  kString,
  kBool,
  kNumber,
  kListString,
  kMapString,
  kListMapString,
  kCredentialsBlock
};

struct AttrSpec {
  std::string name;
  AttrType type = AttrType::kString;
  bool required = false;
  std::string default_hcl;  // HCL source of the default ("true", "\"x\""); empty: none
};

// The HCL type expression of `type`: "string", "list(string)", "list(map(string))".
std::string HclTypeExpression(AttrType type);

const std::vector<AttrSpec>& PluginConfigAttributes();
const std::vector<AttrSpec>& TaskConfigAttributes();

// The plugin block's `config {}` (agent configuration).
struct PluginConfig {
  std::string state_dir = "/var/lib/stockade-nomad";
  std::string run_dir = "/run/stockade-nomad";
  std::string config_file;  // a stockaded config.yaml for registries, CNI dirs, cgroups
  std::string network;      // the CNI network tasks get by default; empty: the host's
  bool allow_privileged = false;
  // The stockade-shim binary; empty: next to the plugin. Nomad runs every executable of its
  // plugin_dir as a plugin, so the shim is best installed elsewhere and named here.
  std::string shim_path;
};

struct TaskMount {
  std::string source, target;
  bool read_only = false;
};

// A task's `config {}`.
struct TaskDriverConfig {
  std::string image;
  std::string command;
  std::vector<std::string> args, entrypoint;
  std::string work_dir, hostname;
  std::vector<std::string> ports;  // labels of the group's network ports
  std::vector<TaskMount> mounts;
  bool privileged = false, readonly_rootfs = false, force_pull = false;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> cap_add, cap_drop;
  std::optional<std::string> auth_username, auth_password;
  std::string network_mode;  // "", "host", "bridge" (the plugin's CNI network)
};

// Decodes msgpack_config / msgpack_driver_config. Errors name the attribute and say what is
// wrong, for the operator or the job's author; nothing is applied on error.
absl::StatusOr<PluginConfig> DecodePluginConfig(absl::string_view msgpack);
absl::StatusOr<TaskDriverConfig> DecodeTaskDriverConfig(absl::string_view msgpack);

// Checks `value` (a decoded object) against `attrs`: a map, no unknown key, required ones set,
// each of its type. Exposed for tests.
absl::Status CheckObject(const CtyValue& value, const std::vector<AttrSpec>& attrs,
                         absl::string_view what);

}  // namespace stockade::nomad
