#include "runtime/cni_pod_network.h"

#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "runtime/runtime_settings.h"

namespace stockade {
namespace {

using Json = nlohmann::json;

CniPodRequest ToCni(const PodNetworkRequest& r, const std::string& pod_cidr) {
  CniPodRequest c;
  c.container_id = r.pod_id;
  c.netns = r.netns;
  c.pod_namespace = r.ns;
  c.pod_name = r.name;
  c.pod_uid = r.uid;
  for (const PortMapping& m : r.port_mappings) {
    c.port_mappings.push_back({m.host_port, m.container_port, m.protocol, m.host_ip});
  }
  c.dns_servers = r.dns_servers;
  c.dns_searches = r.dns_searches;
  c.dns_options = r.dns_options;
  for (absl::string_view cidr : absl::StrSplit(pod_cidr, ',', absl::SkipWhitespace())) {
    c.ip_ranges.emplace_back(cidr);
  }
  c.ingress_bits_per_second = r.ingress_bits_per_second;
  c.egress_bits_per_second = r.egress_bits_per_second;
  return c;
}

class CniPodNetwork final : public PodNetwork {
 public:
  CniPodNetwork(const CniOptions& options, const RuntimeSettings& settings)
      : options_(options), settings_(settings) {}

  absl::StatusOr<PodNetworkAttachment> Attach(const PodNetworkRequest& request) override {
    absl::StatusOr<CniNetwork> network = CniNetwork::Load(options_);
    if (!network.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no usable CNI network config in ", options_.conf_dir, ": ", network.status().message()));
    }
    absl::StatusOr<CniResult> result = network->Add(ToCni(request, settings_.pod_cidr()));
    if (!result.ok()) return result.status();
    PodNetworkAttachment attachment;
    attachment.ips = result->ips;
    attachment.saved =
        Json{{"config", Json::parse(network->json())}, {"result", Json::parse(result->json)}}
            .dump();
    return attachment;
  }

  absl::Status Detach(const PodNetworkRequest& request, const std::string& saved) override {
    Json doc = Json::parse(saved, nullptr, false);
    absl::StatusOr<CniNetwork> network =
        doc.is_object() && doc.contains("config")
            ? CniNetwork::FromJson(doc["config"].dump(), options_)
            : CniNetwork::Load(options_);  // the daemon died before it saved the attach
    if (!network.ok()) return network.status();
    const std::string result =
        doc.is_object() && doc.contains("result") ? doc["result"].dump() : "";
    return network->Del(ToCni(request, settings_.pod_cidr()), result);
  }

  absl::Status Check(const PodNetworkRequest& request, const std::string& saved) override {
    Json doc = Json::parse(saved, nullptr, false);
    if (!doc.is_object() || !doc.contains("config") || !doc.contains("result")) {
      return absl::FailedPreconditionError("no saved CNI attachment to check");
    }
    absl::StatusOr<CniNetwork> network = CniNetwork::FromJson(doc["config"].dump(), options_);
    if (!network.ok()) return network.status();
    return network->Check(ToCni(request, settings_.pod_cidr()), doc["result"].dump());
  }

 private:
  CniOptions options_;
  const RuntimeSettings& settings_;
};

}  // namespace

std::unique_ptr<PodNetwork> NewCniPodNetwork(const CniOptions& options,
                                             const RuntimeSettings& settings) {
  return std::make_unique<CniPodNetwork>(options, settings);
}

}  // namespace stockade
