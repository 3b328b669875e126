#include <sys/un.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/config/config.h"
#include "yaml-cpp/yaml.h"

namespace stockade {
namespace {

// Walks a YAML document over a Config, turning every problem into one line that names the
// source, the line and the dotted key, and rejecting keys it does not know (typos included).
class ConfigParser {
 public:
  explicit ConfigParser(std::string source) : source_(std::move(source)) {}

  absl::Status Parse(const YAML::Node& root, Config& c) {
    if (!root || root.IsNull()) return absl::OkStatus();  // An empty file means all defaults.
    if (!root.IsMap()) return Error(root, "(top level)", "must be a mapping of keys to values");
    return Fields(
        root, "",
        {
            {"socket",
             [&](const YAML::Node& n, const std::string& k) {
               return AbsolutePath(n, k, c.socket_path,
                                   /*max_len=*/sizeof(sockaddr_un::sun_path) - 1);
             }},
            {"state_dir", [&](auto& n, auto& k) { return AbsolutePath(n, k, c.state_dir); }},
            {"run_dir", [&](auto& n, auto& k) { return AbsolutePath(n, k, c.run_dir); }},
            {"cgroup_driver",
             [&](auto& n, auto& k) { return CgroupDriver(n, k, c.cgroup_driver); }},
            {"log",
             [&](auto& n, auto& k) {
               return Fields(
                   n, k,
                   {
                       {"level", [&](auto& n2, auto& k2) { return Level(n2, k2, c.log.level); }},
                       {"format", [&](auto& n2, auto& k2) { return Format(n2, k2, c.log.format); }},
                   });
             }},
            {"grpc",
             [&](auto& n, auto& k) {
               return Fields(n, k,
                             {
                                 {"max_recv_message_bytes",
                                  [&](auto& n2, auto& k2) {
                                    return Bytes(n2, k2, c.grpc.max_recv_message_bytes);
                                  }},
                                 {"max_send_message_bytes",
                                  [&](auto& n2, auto& k2) {
                                    return Bytes(n2, k2, c.grpc.max_send_message_bytes);
                                  }},
                                 {"shutdown_timeout",
                                  [&](auto& n2, auto& k2) {
                                    return Duration(n2, k2, c.grpc.shutdown_timeout);
                                  }},
                             });
             }},
            {"cni",
             [&](auto& n, auto& k) {
               return Fields(
                   n, k,
                   {
                       {"conf_dir",
                        [&](auto& n2, auto& k2) { return AbsolutePath(n2, k2, c.cni.conf_dir); }},
                       {"bin_dirs",
                        [&](auto& n2, auto& k2) { return PathList(n2, k2, c.cni.bin_dirs); }},
                   });
             }},
            {"streaming",
             [&](auto& n, auto& k) {
               return Fields(n, k,
                             {
                                 {"address",
                                  [&](auto& n2, auto& k2) {
                                    return Address(n2, k2, c.streaming_address,
                                                   /*may_be_empty=*/false);
                                  }},
                                 {"idle_timeout",
                                  [&](auto& n2, auto& k2) {
                                    return Duration(n2, k2, c.streaming_idle_timeout,
                                                    absl::Seconds(1), absl::Hours(24));
                                  }},
                                 {"tls_cert_file",
                                  [&](auto& n2, auto& k2) {
                                    return OptionalAbsolutePath(n2, k2, c.streaming_tls_cert_file);
                                  }},
                                 {"tls_key_file",
                                  [&](auto& n2, auto& k2) {
                                    return OptionalAbsolutePath(n2, k2, c.streaming_tls_key_file);
                                  }},
                             });
             }},
            {"images", [&](auto& n, auto& k) { return Images(n, k, c.images); }},
            {"storage",
             [&](auto& n, auto& k) {
               return Fields(n, k,
                             {
                                 {"zfs_dataset",
                                  [&](auto& n2, auto& k2) {
                                    return PlainString(n2, k2, c.storage.zfs_dataset);
                                  }},
                             });
             }},
            {"metrics",
             [&](auto& n, auto& k) {
               return Fields(n, k,
                             {
                                 {"address",
                                  [&](auto& n2, auto& k2) {
                                    return Address(n2, k2, c.metrics_address,
                                                   /*may_be_empty=*/true);
                                  }},
                             });
             }},
        });
  }

 private:
  absl::Status Images(const YAML::Node& node, const std::string& key, ImagesConfig& images) {
    return Fields(
        node, key,
        {
            {"registry_config_dir",
             [&](auto& n, auto& k) { return AbsolutePath(n, k, images.registry_config_dir); }},
            {"max_concurrent_downloads",
             [&](auto& n, auto& k) {
               return Integer(n, k, 1, 64, images.max_concurrent_downloads);
             }},
            {"pull_progress_timeout",
             [&](auto& n, auto& k) { return Duration(n, k, images.pull_progress_timeout); }},
            {"pinned", [&](auto& n, auto& k) { return StringList(n, k, images.pinned); }},
            {"registries", [&](auto& n, auto& k) { return Registries(n, k, images.registries); }},
        });
  }

  absl::Status Registries(const YAML::Node& node, const std::string& key,
                          std::map<std::string, RegistryHostSettings>& out) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) return Error(node, key, "must map registry hosts to their settings");
    for (const auto& entry : node) {
      const std::string host = entry.first.Scalar();
      const std::string host_key = absl::StrCat(key, ".", host);
      if (host.empty() || host.find('/') != std::string::npos) {
        return Error(entry.first, host_key, "must be a registry host[:port], without a scheme");
      }
      RegistryHostSettings& r = out[host];
      absl::Status s = Fields(
          entry.second, host_key,
          {
              {"mirrors", [&](auto& n, auto& k) { return UrlList(n, k, r.mirrors); }},
              {"plain_http", [&](auto& n, auto& k) { return Bool(n, k, r.plain_http); }},
              {"skip_verify", [&](auto& n, auto& k) { return Bool(n, k, r.tls.skip_verify); }},
              {"ca_file", [&](auto& n, auto& k) { return AbsolutePath(n, k, r.tls.ca_file); }},
              {"cert_file", [&](auto& n, auto& k) { return AbsolutePath(n, k, r.tls.cert_file); }},
              {"key_file", [&](auto& n, auto& k) { return AbsolutePath(n, k, r.tls.key_file); }},
              {"username", [&](auto& n, auto& k) { return PlainString(n, k, r.username); }},
              {"password", [&](auto& n, auto& k) { return PlainString(n, k, r.password); }},
          });
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Integer(const YAML::Node& n, const std::string& key, int min, int max, int& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    int value = 0;
    if (!absl::SimpleAtoi(*v, &value) || value < min || value > max) {
      return Error(
          n, key,
          absl::StrCat("must be a whole number from ", min, " to ", max, ", got \"", *v, "\""));
    }
    out = value;
    return absl::OkStatus();
  }

  absl::Status Bool(const YAML::Node& n, const std::string& key, bool& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    if (*v == "true") {
      out = true;
    } else if (*v == "false") {
      out = false;
    } else {
      return Error(n, key, absl::StrCat("must be true or false, got \"", *v, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status PlainString(const YAML::Node& n, const std::string& key, std::string& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    out = *std::move(v);
    return absl::OkStatus();
  }

  absl::Status StringList(const YAML::Node& n, const std::string& key,
                          std::vector<std::string>& out) {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsSequence()) return Error(n, key, "must be a list");
    out.clear();
    for (const YAML::Node& item : n) {
      absl::StatusOr<std::string> v = Scalar(item, key);
      if (!v.ok()) return v.status();
      out.push_back(*std::move(v));
    }
    return absl::OkStatus();
  }

  absl::Status UrlList(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) {
    if (absl::Status s = StringList(n, key, out); !s.ok()) return s;
    for (const std::string& url : out) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return Error(n, key, absl::StrCat("\"", url, "\" must start with http:// or https://"));
      }
    }
    return absl::OkStatus();
  }

  using FieldParser = std::function<absl::Status(const YAML::Node&, const std::string&)>;

  absl::Status Error(const YAML::Node& node, absl::string_view key, absl::string_view problem) {
    const YAML::Mark mark = node.Mark();
    std::string where = mark.is_null() ? source_ : absl::StrCat(source_, ":", mark.line + 1);
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, ": ", problem));
  }

  absl::Status Fields(const YAML::Node& node, const std::string& prefix,
                      const std::map<std::string, FieldParser>& parsers) {
    if (!node.IsMap()) return Error(node, prefix, "must be a mapping");
    for (const auto& entry : node) {
      std::string name = entry.first.Scalar();
      std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
      auto it = parsers.find(name);
      if (it == parsers.end()) {
        std::vector<std::string> known;
        for (const auto& [k, unused] : parsers) known.push_back(k);
        return Error(entry.first, key,
                     absl::StrCat("unknown key; known keys here: ", absl::StrJoin(known, ", ")));
      }
      if (absl::Status s = it->second(entry.second, key); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Scalar(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) return Error(n, key, "must be a single value");
    return n.Scalar();
  }

  absl::Status AbsolutePath(const YAML::Node& n, const std::string& key, std::string& out,
                            size_t max_len = 4095) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    if (v->empty() || (*v)[0] != '/') {
      return Error(n, key, absl::StrCat("must be an absolute path, got \"", *v, "\""));
    }
    if (v->size() > max_len) {
      return Error(n, key,
                   absl::StrCat("path is ", v->size(), " bytes; at most ", max_len, " fit here"));
    }
    out = *std::move(v);
    return absl::OkStatus();
  }

  // An absolute path, or "" for none.
  absl::Status OptionalAbsolutePath(const YAML::Node& n, const std::string& key, std::string& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    if (v->empty()) {
      out.clear();
      return absl::OkStatus();
    }
    return AbsolutePath(n, key, out);
  }

  absl::Status PathList(const YAML::Node& n, const std::string& key,
                        std::vector<std::string>& out) {
    if (!n.IsSequence()) return Error(n, key, "must be a list of absolute paths");
    std::vector<std::string> paths;
    for (const YAML::Node& item : n) {
      std::string p;
      if (absl::Status s = AbsolutePath(item, key, p); !s.ok()) return s;
      paths.push_back(std::move(p));
    }
    if (paths.empty()) return Error(n, key, "must name at least one directory");
    out = std::move(paths);
    return absl::OkStatus();
  }

  absl::Status Level(const YAML::Node& n, const std::string& key, LogLevel& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    absl::StatusOr<LogLevel> level = ParseLogLevel(*v);
    if (!level.ok()) return Error(n, key, level.status().message());
    out = *level;
    return absl::OkStatus();
  }

  absl::Status Format(const YAML::Node& n, const std::string& key, LogFormat& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    absl::StatusOr<LogFormat> format = ParseLogFormat(*v);
    if (!format.ok()) return Error(n, key, format.status().message());
    out = *format;
    return absl::OkStatus();
  }

  absl::Status CgroupDriver(const YAML::Node& n, const std::string& key, CgroupDriverSetting& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    if (*v == "auto") {
      out = CgroupDriverSetting::kAuto;
    } else if (*v == "systemd") {
      out = CgroupDriverSetting::kSystemd;
    } else if (*v == "cgroupfs") {
      out = CgroupDriverSetting::kCgroupfs;
    } else {
      return Error(n, key,
                   absl::StrCat("unknown driver \"", *v, "\"; use auto, systemd or cgroupfs"));
    }
    return absl::OkStatus();
  }

  absl::Status Bytes(const YAML::Node& n, const std::string& key, int64_t& out) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    int64_t bytes = 0;
    constexpr int64_t kMax = 2147483647;  // gRPC keeps message sizes in an int.
    if (!absl::SimpleAtoi(*v, &bytes) || bytes < 1024 || bytes > kMax) {
      return Error(n, key,
                   absl::StrCat("must be a byte count from 1024 to ", kMax, ", got \"", *v, "\""));
    }
    out = bytes;
    return absl::OkStatus();
  }

  absl::Status Duration(const YAML::Node& n, const std::string& key, absl::Duration& out,
                        absl::Duration min = absl::ZeroDuration(),
                        absl::Duration max = absl::Hours(1)) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    absl::Duration d;
    if (!absl::ParseDuration(*v, &d) || d < min || d > max) {
      return Error(
          n, key,
          absl::StrCat("must be a duration from ", absl::FormatDuration(min), " to ",
                       absl::FormatDuration(max), " such as 10s or 1m30s, got \"", *v, "\""));
    }
    out = d;
    return absl::OkStatus();
  }

  absl::Status Address(const YAML::Node& n, const std::string& key, std::string& out,
                       bool may_be_empty) {
    absl::StatusOr<std::string> v = Scalar(n, key);
    if (!v.ok()) return v.status();
    if (v->empty() && may_be_empty) {
      out.clear();
      return absl::OkStatus();
    }
    size_t colon = v->rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(v->substr(colon + 1), &port) || port < 0 || port > 65535) {
      return Error(
          n, key,
          absl::StrCat("must be host:port (port 0 picks a free one)",
                       may_be_empty ? ", or empty to turn it off" : "", ", got \"", *v, "\""));
    }
    out = *std::move(v);
    return absl::OkStatus();
  }

  std::string source_;
};

// Invalid UTF-8 (a path is bytes) is replaced, never thrown about.
std::string Quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CgroupDriverName(CgroupDriverSetting d) {
  switch (d) {
    case CgroupDriverSetting::kSystemd:
      return "systemd";
    case CgroupDriverSetting::kCgroupfs:
      return "cgroupfs";
    case CgroupDriverSetting::kAuto:
      break;
  }
  return "auto";
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
  Config config = DefaultConfig();
  try {
    if (absl::Status s = ConfigParser(source).Parse(root, config); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
  if (config.streaming_tls_cert_file.empty() != config.streaming_tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": streaming: tls_cert_file and tls_key_file go together: set both "
                     "(TLS) or neither (plain HTTP)"));
  }
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot read config file: ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

namespace {

std::string RenderRegistries(const std::map<std::string, RegistryHostSettings>& registries) {
  if (registries.empty()) return " {}";
  std::string out;
  for (const auto& [host, r] : registries) {
    std::vector<std::string> mirrors;
    for (const std::string& m : r.mirrors) mirrors.push_back(Quoted(m));
    absl::StrAppend(&out, "\n    ", Quoted(host), ":\n", "      mirrors: [",
                    absl::StrJoin(mirrors, ", "), "]\n",
                    "      plain_http: ", r.plain_http ? "true" : "false", "\n",
                    "      skip_verify: ", r.tls.skip_verify ? "true" : "false");
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string*>{"ca_file", &r.tls.ca_file},
          {"cert_file", &r.tls.cert_file},
          {"key_file", &r.tls.key_file},
          {"username", &r.username},
          {"password", &r.password}}) {
      if (!value->empty()) absl::StrAppend(&out, "\n      ", key, ": ", Quoted(*value));
    }
  }
  return out;
}

std::string RenderImages(const ImagesConfig& images) {
  std::vector<std::string> pinned;
  for (const std::string& p : images.pinned) pinned.push_back(Quoted(p));
  return absl::StrCat(
      "\nimages:\n", "  # containerd-style hosts.toml files: <dir>/<registry host>/hosts.toml.\n",
      "  registry_config_dir: ", Quoted(images.registry_config_dir), "\n",
      "  # Layers of one image fetched and unpacked at once.\n",
      "  max_concurrent_downloads: ", images.max_concurrent_downloads, "\n",
      "  # A pull fails when no bytes arrive for this long.\n",
      "  pull_progress_timeout: ", absl::FormatDuration(images.pull_progress_timeout), "\n",
      "  # Reported as pinned to kubelet, whose image GC then leaves them alone.\n", "  pinned: [",
      absl::StrJoin(pinned, ", "), "]\n",
      "  # Per registry host: mirrors (tried in order, then the host), plain_http, skip_verify,\n",
      "  # ca_file, cert_file, key_file, username, password. Loopback registries may be plain\n",
      "  # HTTP without any of this. Example:\n",
      "  #   \"docker.io\": {mirrors: [\"http://127.0.0.1:5000\"]}\n",
      "  registries:", RenderRegistries(images.registries), "\n");
}

}  // namespace

std::string RenderConfigYaml(const Config& c) {
  std::vector<std::string> pinned;
  for (const std::string& p : c.images.pinned) pinned.push_back(Quoted(p));
  std::vector<std::string> bin_dirs;
  for (const std::string& d : c.cni.bin_dirs) bin_dirs.push_back(Quoted(d));
  return absl::StrCat(
      "# stockaded configuration. Every key is optional: these are the built-in defaults.\n",
      "\n# The CRI gRPC socket; kubelet: --container-runtime-endpoint=unix://<socket>.\n",
      "socket: ", Quoted(c.socket_path), "\n",
      "# Persistent state (RocksDB, image content). One daemon per state dir.\n",
      "state_dir: ", Quoted(c.state_dir), "\n",
      "# Run-time state (network namespaces, shim sockets); lost on reboot.\n",
      "run_dir: ", Quoted(c.run_dir), "\n",
      "# cgroup driver reported to kubelet: auto (systemd when it runs), systemd or cgroupfs.\n",
      "cgroup_driver: ", CgroupDriverName(c.cgroup_driver), "\n", "\nlog:\n",
      "  # debug, info, warn or error.\n", "  level: ", LogLevelName(c.log.level), "\n",
      "  # text or json (one JSON object per line).\n", "  format: ", LogFormatName(c.log.format),
      "\n", "\ngrpc:\n", "  max_recv_message_bytes: ", c.grpc.max_recv_message_bytes, "\n",
      "  max_send_message_bytes: ", c.grpc.max_send_message_bytes, "\n",
      "  # On SIGTERM, how long in-flight calls may run before they are cancelled.\n",
      "  shutdown_timeout: ", absl::FormatDuration(c.grpc.shutdown_timeout), "\n", "\ncni:\n",
      "  # The first valid .conflist/.conf/.json here, in lexical order, is the pod network.\n",
      "  conf_dir: ", Quoted(c.cni.conf_dir), "\n", "  bin_dirs: [", absl::StrJoin(bin_dirs, ", "),
      "]\n", "\nstreaming:\n",
      "  # exec/attach/port-forward server, host:port; port 0 picks a free port.\n",
      "  address: ", Quoted(c.streaming_address), "\n",
      "  # An open exec/attach/port-forward connection idle this long is closed.\n",
      "  idle_timeout: ", absl::FormatDuration(c.streaming_idle_timeout), "\n",
      "  # PEM certificate chain and key for TLS (https:// URLs); empty: plain HTTP.\n",
      "  tls_cert_file: ", Quoted(c.streaming_tls_cert_file), "\n",
      "  tls_key_file: ", Quoted(c.streaming_tls_key_file), "\n", RenderImages(c.images),
      "\nstorage:\n",
      "  # FreeBSD: a ZFS dataset (pool/path) for image layers and container clones; empty: "
      "copies.\n",
      "  zfs_dataset: ", Quoted(c.storage.zfs_dataset), "\n", "\nmetrics:\n",
      "  # Prometheus /metrics, host:port; empty turns it off; port 0 picks a free port.\n",
      "  address: ", Quoted(c.metrics_address), "\n");
}

std::string RenderConfigJson(const Config& c) {
  nlohmann::ordered_json j;
  j["socket"] = c.socket_path;
  j["stateDir"] = c.state_dir;
  j["runDir"] = c.run_dir;
  j["cgroupDriver"] = CgroupDriverName(c.cgroup_driver);
  j["log"] = {{"level", LogLevelName(c.log.level)}, {"format", LogFormatName(c.log.format)}};
  j["grpc"] = {{"maxRecvMessageBytes", c.grpc.max_recv_message_bytes},
               {"maxSendMessageBytes", c.grpc.max_send_message_bytes},
               {"shutdownTimeout", absl::FormatDuration(c.grpc.shutdown_timeout)}};
  j["cni"] = {{"confDir", c.cni.conf_dir}, {"binDirs", c.cni.bin_dirs}};
  j["streaming"] = {{"address", c.streaming_address},
                    {"idleTimeout", absl::FormatDuration(c.streaming_idle_timeout)},
                    {"tlsCertFile", c.streaming_tls_cert_file},
                    {"tlsKeyFile", c.streaming_tls_key_file}};
  j["metrics"] = {{"address", c.metrics_address}};
  j["storage"] = {{"zfsDataset", c.storage.zfs_dataset}};
  nlohmann::ordered_json registries = nlohmann::ordered_json::object();
  for (const auto& [host, r] : c.images.registries) {
    // Credentials are never echoed.
    registries[host] = {{"mirrors", r.mirrors},
                        {"plainHTTP", r.plain_http},
                        {"skipVerify", r.tls.skip_verify},
                        {"caFile", r.tls.ca_file},
                        {"hasCredentials", !r.username.empty() || !r.password.empty()}};
  }
  j["images"] = {{"registryConfigDir", c.images.registry_config_dir},
                 {"maxConcurrentDownloads", c.images.max_concurrent_downloads},
                 {"pullProgressTimeout", absl::FormatDuration(c.images.pull_progress_timeout)},
                 {"pinned", c.images.pinned},
                 {"registries", registries}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stockade
