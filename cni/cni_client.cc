#include "cni/cni_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cni/network_config_discovery.h"
#include "common/run_command.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

using Json = nlohmann::json;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

using PluginOutput = CommandResult;

// Runs one plugin binary: `env` replaces the environment, `input` goes to its stdin. Spawned,
// not forked: the daemon's address space is never copied for a plugin call.
absl::StatusOr<PluginOutput> Exec(const std::string& binary, const std::vector<std::string>& env,
                                  const std::string& input, absl::Duration timeout) {
  absl::StatusOr<CommandResult> result = RunCommand({binary}, input, {env, timeout});
  if (absl::IsDeadlineExceeded(result.status())) {
    return absl::DeadlineExceededError(absl::StrCat(
        "CNI plugin ", binary, " did not answer within ", absl::FormatDuration(timeout)));
  }
  if (absl::IsNotFound(result.status())) {
    return absl::InternalError(std::string(result.status().message()));
  }
  return result;
}

std::string FindPlugin(const std::vector<std::string>& bin_dirs, const std::string& type) {
  for (const std::string& dir : bin_dirs) {
    const std::string path = absl::StrCat(dir, "/", type);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// The spec's error document, or the plugin's own words when it printed none.
absl::Status PluginError(const std::string& type, const std::string& command,
                         const PluginOutput& output) {
  Json doc = Json::parse(output.out, nullptr, false);
  std::string message;
  if (doc.is_object() && doc.contains("msg") && doc["msg"].is_string() &&
      (!doc.contains("details") || doc["details"].is_string())) {
    message = doc.value("msg", "");
    const std::string details = doc.value("details", "");
    if (!details.empty()) absl::StrAppend(&message, ": ", details);
  } else {
    message = output.err.empty() ? output.out : output.err;
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    if (message.empty()) message = absl::StrCat("exit status ", output.exit_code);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("CNI plugin ", type, " failed (", command, "): ", message));
}

Json RuntimeConfig(const Json& plugin, const CniPodRequest& pod) {
  Json caps = plugin.value("capabilities", Json::object());
  if (!caps.is_object()) return Json::object();
  Json rc = Json::object();
  if (caps.value("portMappings", false) && !pod.port_mappings.empty()) {
    Json maps = Json::array();
    for (const CniPortMapping& m : pod.port_mappings) {
      Json j = {
          {"hostPort", m.host_port}, {"containerPort", m.container_port}, {"protocol", m.protocol}};
      if (!m.host_ip.empty()) j["hostIP"] = m.host_ip;
      maps.push_back(j);
    }
    rc["portMappings"] = maps;
  }
  if (caps.value("dns", false) &&
      !(pod.dns_servers.empty() && pod.dns_searches.empty() && pod.dns_options.empty())) {
    rc["dns"] = {
        {"servers", pod.dns_servers}, {"searches", pod.dns_searches}, {"options", pod.dns_options}};
  }
  if (caps.value("ipRanges", false) && !pod.ip_ranges.empty()) {
    Json ranges = Json::array();
    for (const std::string& subnet : pod.ip_ranges) {
      ranges.push_back(Json::array({{{"subnet", subnet}}}));
    }
    rc["ipRanges"] = ranges;
  }
  if (caps.value("bandwidth", false) &&
      (pod.ingress_bits_per_second > 0 || pod.egress_bits_per_second > 0)) {
    Json bw = Json::object();
    if (pod.ingress_bits_per_second > 0) {
      bw["ingressRate"] = pod.ingress_bits_per_second;
      bw["ingressBurst"] = std::numeric_limits<int32_t>::max();
    }
    if (pod.egress_bits_per_second > 0) {
      bw["egressRate"] = pod.egress_bits_per_second;
      bw["egressBurst"] = std::numeric_limits<int32_t>::max();
    }
    rc["bandwidth"] = bw;
  }
  return rc;
}

}  // namespace

absl::StatusOr<CniNetwork> CniNetwork::Load(const CniOptions& options) {
  absl::StatusOr<DiscoveredNetwork> found = DiscoverNetworkConfig(options.conf_dir);
  if (!found.ok()) return found.status();
  return FromJson(ReadText(found->path), options);
}

absl::StatusOr<CniNetwork> CniNetwork::FromJson(const std::string& text,
                                                const CniOptions& options) {
  // A field of the wrong type makes nlohmann::json throw: that is a bad config too.
  try {
    return FromJsonUnchecked(text, options);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the CNI config is malformed: ", e.what()));
  }
}

absl::StatusOr<CniNetwork> CniNetwork::FromJsonUnchecked(const std::string& text,
                                                         const CniOptions& options) {
  Json doc = Json::parse(text, nullptr, false);
  if (!doc.is_object()) return absl::InvalidArgumentError("the CNI config is not a JSON object");
  CniNetwork net;
  net.options_ = options;
  net.name_ = doc.value("name", "");
  net.cni_version_ = doc.value("cniVersion", "");
  if (doc.contains("plugins")) {
    if (!doc["plugins"].is_array() || doc["plugins"].empty()) {
      return absl::InvalidArgumentError("the CNI config's \"plugins\" is not a non-empty list");
    }
    for (const Json& p : doc["plugins"]) {
      if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
        return absl::InvalidArgumentError("a plugin of the CNI config has no \"type\"");
      }
      net.plugins_.push_back(p.dump());
    }
  } else {
    if (!doc.contains("type") || !doc["type"].is_string()) {
      return absl::InvalidArgumentError("the CNI config has neither \"plugins\" nor \"type\"");
    }
    net.plugins_.push_back(doc.dump());
  }
  if (net.name_.empty()) return absl::InvalidArgumentError("the CNI config has no \"name\"");
  // What DEL and CHECK will use later, whatever the directory holds by then.
  Json list = {{"cniVersion", net.cni_version_}, {"name", net.name_}, {"plugins", Json::array()}};
  for (const std::string& p : net.plugins_) list["plugins"].push_back(Json::parse(p));
  net.json_ = list.dump();
  return net;
}

namespace {

struct Invocation {
  const CniOptions& options;
  const std::string& network_name;
  const std::string& cni_version;
  const CniPodRequest& pod;
};

absl::StatusOr<std::string> InvokeUnchecked(const Invocation& inv, const std::string& plugin_json,
                                            const std::string& command, const Json& prev_result);

// Invokes one plugin of the chain; a config field of the wrong type is a bad config.
absl::StatusOr<std::string> Invoke(const Invocation& inv, const std::string& plugin_json,
                                   const std::string& command, const Json& prev_result) {
  try {
    return InvokeUnchecked(inv, plugin_json, command, prev_result);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the CNI config is malformed: ", e.what()));
  }
}

absl::StatusOr<std::string> InvokeUnchecked(const Invocation& inv, const std::string& plugin_json,
                                            const std::string& command, const Json& prev_result) {
  Json plugin = Json::parse(plugin_json);
  const std::string type = plugin.value("type", "");
  if (type.empty() || type.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("CNI plugin type \"", type, "\" is not valid"));
  }
  const std::string binary = FindPlugin(inv.options.bin_dirs, type);
  if (binary.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("CNI plugin \"", type, "\" is not in ",
                                                      absl::StrJoin(inv.options.bin_dirs, ", "),
                                                      ": install it or fix the network config"));
  }
  plugin["name"] = inv.network_name;
  plugin["cniVersion"] = inv.cni_version;
  Json rc = RuntimeConfig(plugin, inv.pod);
  if (!rc.empty()) plugin["runtimeConfig"] = rc;
  if (!prev_result.is_null()) plugin["prevResult"] = prev_result;
  const CniPodRequest& pod = inv.pod;
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command,
      "CNI_CONTAINERID=" + pod.container_id,
      "CNI_NETNS=" + pod.netns,
      "CNI_IFNAME=" + pod.ifname,
      "CNI_PATH=" + absl::StrJoin(inv.options.bin_dirs, ":"),
      absl::StrCat("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=", pod.pod_namespace,
                   ";K8S_POD_NAME=", pod.pod_name, ";K8S_POD_INFRA_CONTAINER_ID=", pod.container_id,
                   ";K8S_POD_UID=", pod.pod_uid),
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  };
  absl::StatusOr<PluginOutput> out = Exec(binary, env, plugin.dump(), inv.options.timeout);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) return PluginError(type, command, *out);
  return out->out;
}

}  // namespace

absl::StatusOr<CniResult> CniNetwork::Add(const CniPodRequest& pod) const {
  const Invocation inv{options_, name_, cni_version_, pod};
  Json prev;  // null for the first plugin
  for (size_t i = 0; i < plugins_.size(); ++i) {
    absl::StatusOr<std::string> out = Invoke(inv, plugins_[i], "ADD", prev);
    Json result = out.ok() ? Json::parse(*out, nullptr, false) : Json();
    if (out.ok() && !result.is_object()) {
      out = absl::FailedPreconditionError(
          absl::StrCat("CNI plugin ", Json::parse(plugins_[i]).value("type", ""),
                       " returned a result that is not JSON: ", out->substr(0, 200)));
    }
    if (!out.ok()) {
      // Undo what the chain did so far (the failed plugin included: it may have half-made).
      for (size_t j = i + 1; j-- > 0;) {
        Invoke(inv, plugins_[j], "DEL", prev).IgnoreError();
      }
      return out.status();
    }
    prev = result;
  }
  CniResult result;
  result.cni_version = prev.value("cniVersion", cni_version_);
  result.json = prev.dump();
  absl::StatusOr<std::vector<std::string>> ips = PodIpsFromResult(result.json);
  if (!ips.ok()) {
    Del(pod, result.json).IgnoreError();
    return ips.status();
  }
  result.ips = *std::move(ips);
  return result;
}

absl::Status CniNetwork::Del(const CniPodRequest& pod, const std::string& cached_result) const {
  const Invocation inv{options_, name_, cni_version_, pod};
  Json prev = cached_result.empty() ? Json() : Json::parse(cached_result, nullptr, false);
  if (prev.is_discarded()) prev = Json();
  absl::Status first_error;
  for (size_t j = plugins_.size(); j-- > 0;) {
    absl::StatusOr<std::string> out = Invoke(inv, plugins_[j], "DEL", prev);
    if (!out.ok() && first_error.ok()) first_error = out.status();
  }
  return first_error;
}

absl::Status CniNetwork::Check(const CniPodRequest& pod, const std::string& cached_result) const {
  const Invocation inv{options_, name_, cni_version_, pod};
  Json prev = Json::parse(cached_result, nullptr, false);
  if (!prev.is_object()) {
    return absl::FailedPreconditionError("no cached CNI result to CHECK against");
  }
  for (const std::string& plugin : plugins_) {
    absl::StatusOr<std::string> out = Invoke(inv, plugin, "CHECK", prev);
    if (!out.ok()) return out.status();
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<std::vector<std::string>> PodIpsFromResultUnchecked(const std::string& result_json) {
  Json doc = Json::parse(result_json, nullptr, false);
  if (!doc.is_object()) return absl::InvalidArgumentError("the CNI result is not a JSON object");
  const Json interfaces = doc.value("interfaces", Json::array());
  std::vector<std::string> v4, v6;
  for (const Json& ip : doc.value("ips", Json::array())) {
    if (!ip.is_object()) continue;
    if (ip.contains("interface") && ip["interface"].is_number_integer() && interfaces.is_array()) {
      const int index = ip["interface"].get<int>();
      if (index >= 0 && index < static_cast<int>(interfaces.size()) &&
          interfaces[index].value("sandbox", "").empty()) {
        continue;  // an address on the host side (a bridge), not the pod's
      }
    }
    std::string address = ip.value("address", "");
    address = address.substr(0, address.find('/'));
    if (address.empty()) continue;
    (address.find(':') != std::string::npos ? v6 : v4).push_back(address);
  }
  if (v4.empty() && v6.empty()) {
    return absl::FailedPreconditionError(
        "the CNI result gives the pod no IP address: check the network config's IPAM");
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PodIpsFromResult(const std::string& result_json) {
  // What a plugin prints is untrusted: a field of the wrong type is a bad result, not a crash.
  try {
    return PodIpsFromResultUnchecked(result_json);
  } catch (const Json::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("the CNI result is malformed: ", e.what()));
  }
}

}  // namespace stockade
