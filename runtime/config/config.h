// stockaded's configuration: one YAML file whose every key has a built-in default, so the
// daemon runs without any file. `stockaded config default` prints RenderConfigYaml(Defaults).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "imagestore/registry_hosts.h"

namespace stockade {

enum class HostOs { kLinux, kFreeBsd };

// The OS this binary was built for.
HostOs BuildHostOs();

enum class CgroupDriverSetting { kAuto, kSystemd, kCgroupfs };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
};

struct GrpcConfig {
  // containerd's limits; gRPC's own default of 4 MiB is too small for large ListContainers.
  int64_t max_recv_message_bytes = 16 * 1024 * 1024;
  int64_t max_send_message_bytes = 16 * 1024 * 1024;
  // How long SIGTERM waits for in-flight calls before cancelling them.
  absl::Duration shutdown_timeout = absl::Seconds(10);
};

struct CniSettings {
  std::string conf_dir;
  std::vector<std::string> bin_dirs;
};

struct ImagesConfig {
  // containerd's hosts.toml directory: <dir>/<registry host>/hosts.toml.
  std::string registry_config_dir;
  int max_concurrent_downloads = 3;
  // A pull fails when no bytes arrive for this long (containerd's image_pull_progress_timeout).
  absl::Duration pull_progress_timeout = absl::Minutes(5);
  // Images reported as pinned, so kubelet's image GC leaves them alone.
  std::vector<std::string> pinned;
  // Per registry host ("docker.io", "127.0.0.1:5000"): mirrors, TLS, credentials.
  std::map<std::string, RegistryHostSettings> registries;
};

struct StorageConfig {
  // FreeBSD: a ZFS dataset ("zroot/stockade") for layer chains and container clones; empty
  // uses the copy snapshotter. Linux uses overlayfs and refuses a dataset.
  std::string zfs_dataset;
};

struct Config {
  std::string socket_path;
  std::string state_dir;
  std::string run_dir;
  LogConfig log;
  GrpcConfig grpc;
  CniSettings cni;
  // host:port for the exec/attach/port-forward server; port 0 picks a free one.
  std::string streaming_address;
  // An idle streaming connection is closed after this (containerd's stream_idle_timeout).
  absl::Duration streaming_idle_timeout = absl::Hours(4);
  // PEM certificate chain and key: the streaming server speaks TLS (both, or neither).
  std::string streaming_tls_cert_file, streaming_tls_key_file;
  // host:port for Prometheus /metrics; empty turns the listener off; port 0 picks a free one.
  std::string metrics_address;
  CgroupDriverSetting cgroup_driver = CgroupDriverSetting::kAuto;
  ImagesConfig images;
  StorageConfig storage;
};

// The built-in defaults for `os`.
Config DefaultConfig(HostOs os = BuildHostOs());

// Where the daemon looks for its config file when --config is not given.
std::string DefaultConfigPath(HostOs os = BuildHostOs());

// Parses YAML over the defaults. Errors read "<source>:<line>: <key>: <problem>".
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source);
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The complete YAML form (every key), parseable by ParseConfig.
std::string RenderConfigYaml(const Config& config);
// The same settings as a JSON object (Status verbose info).
std::string RenderConfigJson(const Config& config);

}  // namespace stockade
