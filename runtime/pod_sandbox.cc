// RuntimeCore: the pod half — RunPod, StopPod, RemovePod, PodStatus, ListPods.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/logging.h"
#include "nlohmann/json.hpp"
#include "runtime/cgroup_driver.h"
#include "runtime/core_tables.h"
#include "runtime/id_locks.h"
#include "runtime/runtime_core.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/step_times.h"
#include "state/state_store.h"

namespace stockade {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string NodeHostname() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

// RFC 1123 host names (dot-separated labels of letters, digits and inner hyphens, at most 63
// bytes each), at most 64 bytes in all (the kernel's limit): the name is written into /etc/hosts
// and /etc/hostname, so nothing else may pass. Empty: the default.
absl::Status ValidateHostname(const std::string& hostname) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("hostname \"", absl::CHexEscape(hostname), "\" ", why));
  };
  if (hostname.empty()) return absl::OkStatus();
  if (hostname.size() > 64) return bad("is longer than 64 bytes");
  for (absl::string_view label : absl::StrSplit(hostname, '.')) {
    if (label.empty() || label.size() > 63) return bad("has an empty label or one over 63 bytes");
    if (label.front() == '-' || label.back() == '-') {
      return bad("has a label that starts or ends with '-'");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') {
        return bad("is not an RFC 1123 name (letters, digits, '-' and '.')");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePodSpec(const PodSandboxSpec& spec) {
  if (spec.name.empty() || spec.ns.empty() || spec.uid.empty()) {
    return absl::InvalidArgumentError(
        "config.metadata must give name, namespace and uid of the pod sandbox");
  }
  if (absl::Status s = ValidateHostname(spec.hostname); !s.ok()) return s;
  if (!spec.cgroup_parent.empty()) {
    if (absl::StatusOr<std::string> p = CgroupParentDirectory(spec.cgroup_parent); !p.ok()) {
      return p.status();
    }
  }
  if (spec.pid == NamespaceMode::kTarget || spec.network == NamespaceMode::kTarget ||
      spec.ipc == NamespaceMode::kTarget || spec.network == NamespaceMode::kContainer ||
      spec.ipc == NamespaceMode::kContainer) {
    return absl::InvalidArgumentError(
        "a pod sandbox's namespace options may be POD or NODE (and CONTAINER for pid) only");
  }
  for (const auto& [key, value] : spec.sysctls) {
    if (key.empty() || absl::StrContains(key, "..") || absl::StrContains(key, " ") ||
        value.find('\n') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("sysctl \"", key, "\" is not valid"));
    }
    const bool namespaced = absl::StartsWith(key, "net.") || absl::StartsWith(key, "kernel.shm") ||
                            absl::StartsWith(key, "kernel.msg") || key == "kernel.sem" ||
                            absl::StartsWith(key, "fs.mqueue.");
    if (!namespaced) {
      return absl::InvalidArgumentError(
          absl::StrCat("sysctl \"", key,
                       "\" is not namespaced: a pod may set net.*, kernel.shm*, "
                       "kernel.msg*, kernel.sem and fs.mqueue.* only"));
    }
    if (absl::StartsWith(key, "net.") && spec.network == NamespaceMode::kNode) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sysctl \"", key, "\" would change the node's network: the pod uses the host network"));
    }
    if (!absl::StartsWith(key, "net.") && spec.ipc == NamespaceMode::kNode) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sysctl \"", key, "\" would change the node's IPC limits: the pod uses the host IPC"));
    }
  }
  return absl::OkStatus();
}

bool LabelsMatch(const Labels& want, const google::protobuf::Map<std::string, std::string>& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

std::string NetworkRequestJson(const PodSandboxSpec& spec) {
  nlohmann::json maps = nlohmann::json::array();
  for (const PortMapping& m : spec.port_mappings) {
    maps.push_back({{"hostPort", m.host_port},
                    {"containerPort", m.container_port},
                    {"protocol", m.protocol},
                    {"hostIP", m.host_ip}});
  }
  return nlohmann::json{{"portMappings", maps},
                        {"dnsServers", spec.dns.servers},
                        {"dnsSearches", spec.dns.searches},
                        {"dnsOptions", spec.dns.options},
                        {"ingress", spec.ingress_bits_per_second},
                        {"egress", spec.egress_bits_per_second}}
      .dump();
}

PodSandboxView ToView(const v1::PodRecord& r) {
  PodSandboxView v;
  v.id = r.id();
  v.name = r.name();
  v.ns = r.namespace_();
  v.uid = r.uid();
  v.attempt = r.attempt();
  v.state = FromRecord(r.state());
  v.created_at_unix_nano = r.created_at_unix_nano();
  v.labels.insert(r.labels().begin(), r.labels().end());
  v.annotations.insert(r.annotations().begin(), r.annotations().end());
  v.runtime_handler = r.runtime_handler();
  v.hostname = r.hostname();
  v.network_namespace_path = r.network_namespace_path();
  v.log_directory = r.log_directory();
  v.message = r.message();
  v.network = static_cast<NamespaceMode>(r.network_mode());
  v.pid = static_cast<NamespaceMode>(r.pid_mode());
  v.ipc = static_cast<NamespaceMode>(r.ipc_mode());
  v.ips.assign(r.ips().begin(), r.ips().end());
  return v;
}

}  // namespace

// The network request of a pod, from its record: what ADD was given, DEL is given again.
PodNetworkRequest NetworkRequestOf(const v1::PodRecord& r) {
  PodNetworkRequest req;
  req.pod_id = r.id();
  req.name = r.name();
  req.ns = r.namespace_();
  req.uid = r.uid();
  req.netns = r.network_namespace_path();
  nlohmann::json doc = nlohmann::json::parse(r.network_request(), nullptr, false);
  if (!doc.is_object()) return req;
  for (const nlohmann::json& m : doc.value("portMappings", nlohmann::json::array())) {
    req.port_mappings.push_back({m.value("hostPort", 0), m.value("containerPort", 0),
                                 m.value("protocol", "tcp"), m.value("hostIP", "")});
  }
  req.dns_servers = doc.value("dnsServers", std::vector<std::string>{});
  req.dns_searches = doc.value("dnsSearches", std::vector<std::string>{});
  req.dns_options = doc.value("dnsOptions", std::vector<std::string>{});
  req.ingress_bits_per_second = doc.value("ingress", int64_t{0});
  req.egress_bits_per_second = doc.value("egress", int64_t{0});
  return req;
}

std::string RuntimeCore::PodDir(const std::string& pod_id) const {
  return absl::StrCat(options_.run_dir, "/pods/", pod_id);
}

absl::Status RuntimeCore::WritePodFiles(const PodSandboxSpec& spec, const std::string& dir) const {
  std::ifstream node_file(options_.node_resolv_conf);
  std::stringstream node_resolv;
  node_resolv << node_file.rdbuf();
  absl::StatusOr<std::string> resolv = BuildResolvConf(spec.dns, node_resolv.str());
  if (!resolv.ok()) return resolv.status();
  const std::string hostname = spec.network == NamespaceMode::kNode || spec.hostname.empty()
                                   ? NodeHostname()
                                   : spec.hostname;
  const std::string hosts = absl::StrCat(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n");
  const std::pair<const char*, std::string> files[] = {
      {"hostname", hostname + "\n"}, {"hosts", hosts}, {"resolv.conf", *resolv}};
  for (const auto& [name, content] : files) {
    if (absl::Status s = WriteFile(absl::StrCat(dir, "/", name), content); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

// remove_all of a pod's directory, tolerating what vanishes or appears under it meanwhile (a
// shim that was killed rather than shut down may still be unlinking its socket).
absl::Status RemovePodDirectory(const std::string& dir) {
  std::error_code ec;
  for (int attempt = 0; attempt < 5; ++attempt) {
    ec.clear();
    std::filesystem::remove_all(dir, ec);
    std::error_code exists_ec;
    if (!ec || !std::filesystem::exists(dir, exists_ec)) return absl::OkStatus();
    if (ec != std::errc::no_such_file_or_directory && ec != std::errc::directory_not_empty) break;
  }
  return ErrnoError(ec.value(), absl::StrCat("remove the pod directory ", dir));
}

}  // namespace

absl::StatusOr<std::string> RuntimeCore::RunPod(const PodSandboxSpec& spec) {
  StepTimes steps;
  if (absl::Status s = ValidatePodSpec(spec); !s.ok()) return s;
  // Validated before anything is made.
  if (absl::StatusOr<std::string> r = BuildResolvConf(spec.dns, ""); !r.ok()) {
    return r.status();
  }
  const std::string id = NewId();
  const std::string name = SandboxName(spec.name, spec.ns, spec.uid, spec.attempt);
  if (absl::Status s = names_.Reserve(name, id); !s.ok()) return s;
  absl::Cleanup release_name = [&] { names_.Release(name); };
  IdLocks::Held lock = locks_->Lock(id);
  steps.Mark("validate");

  v1::PodRecord pod;
  pod.set_record_version(1);
  pod.set_id(id);
  pod.set_name(spec.name);
  pod.set_namespace_(spec.ns);
  pod.set_uid(spec.uid);
  pod.set_attempt(spec.attempt);
  pod.set_created_at_unix_nano(absl::GetCurrentTimeNanos());
  pod.mutable_labels()->insert(spec.labels.begin(), spec.labels.end());
  pod.mutable_annotations()->insert(spec.annotations.begin(), spec.annotations.end());
  pod.set_runtime_handler(spec.runtime_handler);
  pod.set_hostname(spec.hostname);
  pod.set_log_directory(spec.log_directory);
  pod.set_network_mode(static_cast<int>(spec.network));
  pod.set_pid_mode(static_cast<int>(spec.pid));
  pod.set_ipc_mode(static_cast<int>(spec.ipc));
  pod.mutable_sysctls()->insert(spec.sysctls.begin(), spec.sysctls.end());
  const bool own_scope = spec.cgroup_parent.empty();
  pod.set_owns_cgroup(own_scope);
  if (own_scope) {
    pod.set_cgroup_path(absl::StrCat("stockade/pod-", id));
  } else {
    absl::StatusOr<std::string> parent = CgroupParentDirectory(spec.cgroup_parent);
    if (!parent.ok()) return parent.status();
    pod.set_cgroup_path(*parent);
  }
  const bool host_network = spec.network == NamespaceMode::kNode;
  if (!host_network) {
    pod.set_network_namespace_path(options_.pod_network_handle
                                       ? options_.pod_network_handle(id)
                                       : absl::StrCat(options_.netns_dir, "/", id));
  }
  // The pod's own network namespace is put on the CNI network after the jail is made.
  const bool attach_network = !host_network && spec.network_namespace_path.empty();
  // Intent first, the network's too, in the one record: a restart that finds the pod CREATING
  // detaches whatever the plugins may have made (a DEL of what was never added succeeds, as
  // CNI requires) and destroys the jail.
  if (attach_network) pod.set_network_request(NetworkRequestJson(spec));
  pod.set_state(v1::POD_STATE_CREATING);
  if (absl::Status s = tables_->Put(pod); !s.ok()) return s;
  if (absl::Status s = pod_ids_.Add(id); !s.ok()) return s;
  steps.Mark("record");

  const std::string dir = PodDir(id);
  absl::Cleanup rollback = [&] {
    DetachNetwork(pod).IgnoreError();
    DestroyPod(pod).IgnoreError();
    RemovePodDirectory(dir).IgnoreError();
    tables_->DeletePod(id).IgnoreError();
    pod_ids_.Remove(id);
  };
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("create the pod directory ", dir));
  if (absl::Status s = WritePodFiles(spec, dir); !s.ok()) return s;
  steps.Mark("files");
  if (absl::Status s = deps_.limiter.Create(pod.cgroup_path(), {}); !s.ok()) return s;
  steps.Mark("scope");
  PodLaunch launch;
  launch.jail.pod_id = id;
  launch.jail.hostname = host_network ? "" : spec.hostname;
  launch.jail.host_network = host_network;
  launch.jail.join_network_namespace = spec.network_namespace_path;
  launch.jail.share_ipc_with_host = spec.ipc == NamespaceMode::kNode;
  launch.jail.sysctls = spec.sysctls;
  launch.pid_mode = spec.pid;
  launch.dir = dir;
  if (absl::Status s = deps_.backend.CreatePod(launch); !s.ok()) return s;
  steps.Mark("jail");
  if (attach_network) {
    absl::StatusOr<PodNetworkAttachment> attached = deps_.network.Attach(NetworkRequestOf(pod));
    if (!attached.ok()) return attached.status();
    for (const std::string& ip : attached->ips) pod.add_ips(ip);
    pod.set_network_state(attached->saved);
    steps.Mark("network");
  }
  pod.set_state(v1::POD_STATE_READY);
  if (absl::Status s = tables_->Put(pod); !s.ok()) return s;
  steps.Mark("ready-record");
  std::move(rollback).Cancel();
  std::move(release_name).Cancel();
  if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "pod sandbox ready", {{"id", id}, {"steps", steps.Summary()}});
  }
  return id;
}

absl::Status RuntimeCore::DetachNetwork(v1::PodRecord& pod) {
  if (pod.network_namespace_path().empty() && pod.network_state().empty()) return absl::OkStatus();
  if (pod.network_request().empty() && pod.network_state().empty()) return absl::OkStatus();
  absl::Status s = deps_.network.Detach(NetworkRequestOf(pod), pod.network_state());
  if (!s.ok()) return s;
  pod.clear_ips();
  pod.clear_network_state();
  pod.clear_network_request();
  return absl::OkStatus();
}

absl::Status RuntimeCore::DestroyPod(const v1::PodRecord& pod) {
  absl::Status result = deps_.backend.DestroyPod(pod.id(), PodDir(pod.id()));
  if (pod.owns_cgroup()) {
    if (absl::Status s = deps_.limiter.Remove(pod.cgroup_path()); !s.ok() && result.ok()) {
      result = s;
    }
  }
  return result;
}

absl::Status RuntimeCore::ForEachContainerLocked(
    const std::string& pod_id, const std::function<absl::Status(v1::ContainerRecord&)>& fn) {
  for (const v1::ContainerRecord& listed : tables_->ContainersOf(pod_id)) {
    IdLocks::Held lock = locks_->Lock(listed.id());
    std::optional<v1::ContainerRecord> c = tables_->Container(listed.id());
    if (!c) continue;  // removed meanwhile
    if (absl::Status s = fn(*c); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RuntimeCore::StopPodLocked(v1::PodRecord pod) {
  if (pod.state() != v1::POD_STATE_STOPPING) {
    pod.set_state(v1::POD_STATE_STOPPING);
    if (absl::Status s = tables_->Put(pod); !s.ok()) return s;
  }
  // Every container ends at once (kubelet has already stopped them with their grace periods).
  if (absl::Status s = ForEachContainerLocked(pod.id(),
                                              [&](v1::ContainerRecord& c) {
                                                absl::Status stopped =
                                                    StopContainerLocked(c, absl::ZeroDuration());
                                                // What a container left behind in a shared PID
                                                // namespace (or the node's) goes with the pod, even
                                                // when its own init ended long ago.
                                                if (stopped.ok())
                                                  stopped = deps_.limiter.KillAll(c.cgroup_path());
                                                return stopped;
                                              });
      !s.ok()) {
    return s;
  }
  // Before the namespace goes, so that the plugins can take their interfaces out of it. A plugin
  // that fails (or is gone) does not keep the pod running, as in containerd.
  if (absl::Status s = DetachNetwork(pod); !s.ok()) {
    Log(LogLevel::kWarn, "the pod's network could not be detached; stopping it anyway",
        {{"pod", pod.id()}, {"error", std::string(s.message())}});
    pod.clear_ips();
    pod.clear_network_state();
    pod.clear_network_request();
  }
  if (absl::Status s = deps_.backend.DestroyPod(pod.id(), PodDir(pod.id())); !s.ok()) return s;
  pod.set_state(v1::POD_STATE_NOT_READY);
  return tables_->Put(pod);
}

absl::Status RuntimeCore::StopPod(const std::string& id) {
  absl::StatusOr<std::string> full = pod_ids_.Resolve(id);
  // Stop is idempotent: a pod that is gone is stopped.
  if (absl::IsNotFound(full.status())) return absl::OkStatus();
  if (!full.ok()) return full.status();
  IdLocks::Held lock = locks_->Lock(*full);
  std::optional<v1::PodRecord> pod = tables_->Pod(*full);
  if (!pod) return absl::OkStatus();
  return StopPodLocked(*pod);
}

absl::Status RuntimeCore::RemovePodLocked(const v1::PodRecord& stopped) {
  v1::PodRecord pod = stopped;
  pod.set_state(v1::POD_STATE_REMOVING);
  if (absl::Status s = tables_->Put(pod); !s.ok()) return s;
  if (absl::Status s = ForEachContainerLocked(
          pod.id(), [&](v1::ContainerRecord& c) { return RemoveContainerLocked(c); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = DestroyPod(pod); !s.ok()) return s;
  if (absl::Status s = RemovePodDirectory(PodDir(pod.id())); !s.ok()) return s;
  if (absl::Status s = tables_->DeletePod(pod.id()); !s.ok()) return s;
  pod_ids_.Remove(pod.id());
  names_.Release(SandboxName(pod.name(), pod.namespace_(), pod.uid(), pod.attempt()));
  return absl::OkStatus();
}

absl::Status RuntimeCore::RemovePod(const std::string& id) {
  absl::StatusOr<std::string> full = pod_ids_.Resolve(id);
  if (absl::IsNotFound(full.status())) return absl::OkStatus();
  if (!full.ok()) return full.status();
  IdLocks::Held lock = locks_->Lock(*full);
  std::optional<v1::PodRecord> pod = tables_->Pod(*full);
  if (!pod) return absl::OkStatus();
  // containerd stops a pod that is still ready before removing it.
  if (pod->state() != v1::POD_STATE_NOT_READY && pod->state() != v1::POD_STATE_REMOVING) {
    if (absl::Status s = StopPodLocked(*pod); !s.ok()) return s;
    pod = tables_->Pod(*full);
  }
  return RemovePodLocked(*pod);
}

absl::StatusOr<PodSandboxView> RuntimeCore::PodStatus(const std::string& id) {
  absl::StatusOr<std::string> full = pod_ids_.Resolve(id);
  if (!full.ok()) return full.status();
  std::optional<v1::PodRecord> pod = tables_->Pod(*full);
  if (!pod) return absl::NotFoundError(absl::StrCat("pod sandbox ", id, " not found"));
  return ToView(*pod);
}

absl::Status ValidateResources(const ResourceLimits& limits);  // container_create.cc

absl::Status RuntimeCore::UpdatePodResources(const std::string& id, const ResourceLimits& limits) {
  if (absl::Status s = ValidateResources(limits); !s.ok()) return s;
  absl::StatusOr<std::string> full = pod_ids_.Resolve(id);
  if (!full.ok()) return full.status();
  IdLocks::Held lock = locks_->Lock(*full);
  std::optional<v1::PodRecord> pod = tables_->Pod(*full);
  if (!pod) return absl::NotFoundError(absl::StrCat("pod sandbox ", id, " not found"));
  if (pod->state() != v1::POD_STATE_READY) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", *full, " is not ready: its resources cannot change"));
  }
  return deps_.limiter.Update(pod->cgroup_path(), limits);
}

std::vector<PodSandboxView> RuntimeCore::ListPods(const PodFilter& filter) {
  std::vector<PodSandboxView> out;
  for (const v1::PodRecord& pod : tables_->Pods()) {
    if (!absl::StartsWith(pod.id(), filter.id)) continue;
    if (pod.state() == v1::POD_STATE_CREATING) continue;  // not there until it is made
    PodSandboxView view = ToView(pod);
    if (filter.state && view.state != *filter.state) continue;
    if (!LabelsMatch(filter.labels, pod.labels())) continue;
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace stockade
