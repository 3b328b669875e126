// Fakes of the runtime core's seams: they record what was asked, keep in memory what a real
// backend would make, and fail on request. For the core's unit tests (no root, any OS).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/container_image.h"
#include "runtime/jail_backend.h"
#include "runtime/pod_network.h"
#include "runtime/snapshot/snapshotter.h"

namespace stockade::testing {

class FakeJailBackend : public JailBackend {
 public:
  struct Pod {
    PodLaunch launch;
    std::map<std::string, ContainerRunState> containers;
    std::map<std::string, std::vector<int>> signals;
  };
  std::map<std::string, Pod> pods;  // by dir
  std::vector<std::string> calls;
  absl::Status fail_create_pod, fail_start;
  bool exit_on_sigterm = true;  // a process that honours its stop signal
  pid_t next_pid = 1000;
  ExecOutput exec_output;

  std::function<void(const PodLaunch&)> on_create_pod;  // sees what is recorded when it runs
  absl::Status CreatePod(const PodLaunch& launch) override {
    calls.push_back("CreatePod " + launch.jail.pod_id);
    if (on_create_pod) on_create_pod(launch);
    if (!fail_create_pod.ok()) return fail_create_pod;
    pods[launch.dir].launch = launch;
    return absl::OkStatus();
  }
  bool PodAlive(const std::string&, const std::string& dir) override { return pods.count(dir) > 0; }
  absl::Status DestroyPod(const std::string& pod_id, const std::string& dir) override {
    calls.push_back("DestroyPod " + pod_id);
    pods.erase(dir);
    return absl::OkStatus();
  }
  absl::StatusOr<pid_t> StartContainer(const std::string& dir,
                                       const ContainerLaunch& launch) override {
    calls.push_back("StartContainer " + launch.jail.container_id);
    if (!fail_start.ok()) return fail_start;
    auto it = pods.find(dir);
    if (it == pods.end()) return absl::UnavailableError("no shim");
    ContainerRunState& run = it->second.containers[launch.jail.container_id];
    run.running = true;
    run.pid = next_pid++;
    last_launch = launch;
    return run.pid;
  }
  absl::Status SignalContainer(const std::string& dir, const std::string& id, int signal) override {
    auto it = pods.find(dir);
    if (it == pods.end()) return absl::UnavailableError("no shim");
    it->second.signals[id].push_back(signal);
    if (signal == 9 || (signal == 15 && exit_on_sigterm)) {
      Exit(dir, id, 128 + signal);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<ContainerRunState> InspectContainer(const std::string& dir,
                                                     const std::string& id) override {
    auto it = pods.find(dir);
    if (it == pods.end()) return absl::UnavailableError("no shim");
    auto c = it->second.containers.find(id);
    if (c == it->second.containers.end()) return absl::NotFoundError("unknown container");
    return c->second;
  }
  absl::Status ForgetContainer(const std::string& dir, const std::string& id) override {
    if (pods.count(dir) > 0) pods[dir].containers.erase(id);
    return absl::OkStatus();
  }
  absl::Status ReopenLog(const std::string&, const std::string& id) override {
    calls.push_back("ReopenLog " + id);
    return absl::OkStatus();
  }
  absl::Status CheckVolumePropagation(const VolumeMount&) override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<ProcessStream>> ExecStream(const std::string&,
                                                            const std::string& id,
                                                            const ProcessIdentity& identity, bool,
                                                            bool) override {
    calls.push_back(absl::StrCat("ExecStream ", id, " ", identity.argv.front()));
    return absl::UnimplementedError("the fake backend streams nothing");
  }
  absl::StatusOr<std::unique_ptr<ProcessStream>> Attach(const std::string&, const std::string& id,
                                                        bool, bool, bool, bool) override {
    calls.push_back(absl::StrCat("Attach ", id));
    return absl::UnimplementedError("the fake backend streams nothing");
  }
  // As the shim's exit record: there once the process has ended.
  bool HasExited(const std::string& dir, const std::string& id) override {
    auto it = pods.find(dir);
    if (it == pods.end()) return false;
    auto c = it->second.containers.find(id);
    return c != it->second.containers.end() && !c->second.running;
  }
  absl::StatusOr<UniqueFd> DialPod(const std::string& pod_id, bool, int port) override {
    calls.push_back(absl::StrCat("DialPod ", pod_id, " ", port));
    return absl::UnimplementedError("the fake backend dials nothing");
  }
  absl::StatusOr<std::vector<InterfaceCounters>> PodInterfaces(const std::string&, bool) override {
    return interfaces;
  }
  std::vector<InterfaceCounters> interfaces;
  absl::StatusOr<ExecOutput> Exec(const std::string&, const std::string& id,
                                  const ProcessIdentity& identity, absl::Duration) override {
    calls.push_back(absl::StrCat("Exec ", id, " ", identity.argv.front()));
    return exec_output;
  }

  // Test controls: the process of `id` ends with `code`.
  void Exit(const std::string& dir, const std::string& id, int code) {
    ContainerRunState& run = pods[dir].containers[id];
    run.running = false;
    run.exit = {code, code > 128 ? code - 128 : 0, 42};
  }

  ContainerLaunch last_launch;
};

class FakeResourceLimiter : public ResourceLimiter {
 public:
  std::map<std::string, ResourceLimits> scopes;
  std::map<std::string, int64_t> oom_kills;
  absl::Status Create(const std::string& scope, const ResourceLimits& limits) override {
    scopes[scope] = limits;
    return absl::OkStatus();
  }
  absl::Status Update(const std::string& scope, const ResourceLimits& limits) override {
    if (scopes.count(scope) == 0) return absl::NotFoundError(scope);
    scopes[scope] = limits;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> OomKills(const std::string& scope) override { return oom_kills[scope]; }
  std::map<std::string, ScopeUsage> usage;
  absl::StatusOr<ScopeUsage> Usage(const std::string& scope) override { return usage[scope]; }
  std::vector<std::string> killed_all;
  absl::Status KillAll(const std::string& scope) override {
    killed_all.push_back(scope);
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& scope) override {
    scopes.erase(scope);
    return absl::OkStatus();
  }
};

class FakeSnapshotter : public Snapshotter {
 public:
  std::map<std::string, std::vector<std::string>> prepared;
  std::string root = "/fake/snapshots";
  std::string Name() const override { return "fake"; }
  absl::StatusOr<std::string> Prepare(const std::string& key,
                                      const std::vector<std::string>& layers) override {
    if (prepared.count(key) > 0) return absl::AlreadyExistsError(key);
    prepared[key] = layers;
    return absl::StrCat(root, "/", key, "/rootfs");
  }
  absl::Status Remove(const std::string& key) override {
    prepared.erase(key);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> List() const override {
    std::vector<std::string> keys;
    for (const auto& [k, v] : prepared) keys.push_back(k);
    return keys;
  }
  absl::StatusOr<DiskUsage> Usage(const std::string& key) const override {
    if (prepared.count(key) == 0) return absl::NotFoundError(key);
    return DiskUsage{4096, 1};
  }
};

class FakePodNetwork : public PodNetwork {
 public:
  std::map<std::string, PodNetworkRequest> attached;  // by pod id
  std::vector<std::string> calls;
  absl::Status fail_attach, fail_detach;
  int next_ip = 2;
  absl::StatusOr<PodNetworkAttachment> Attach(const PodNetworkRequest& request) override {
    calls.push_back("Attach " + request.pod_id);
    if (!fail_attach.ok()) return fail_attach;
    attached[request.pod_id] = request;
    PodNetworkAttachment a;
    a.ips = {absl::StrCat("10.88.0.", next_ip++), "fd00::2"};
    a.saved = "saved-" + request.pod_id;
    return a;
  }
  absl::Status fail_check;
  absl::Status Check(const PodNetworkRequest& request, const std::string& saved) override {
    calls.push_back("Check " + request.pod_id + " " + saved);
    return fail_check;
  }
  absl::Status Detach(const PodNetworkRequest& request, const std::string& saved) override {
    calls.push_back("Detach " + request.pod_id + " " + saved);
    if (!fail_detach.ok()) return fail_detach;
    attached.erase(request.pod_id);
    return absl::OkStatus();
  }
};

class FakeImageSource : public ContainerImageSource {
 public:
  std::map<std::string, ContainerImage> images;
  absl::StatusOr<ContainerImage> Find(const std::string& image) override {
    auto it = images.find(image);
    if (it == images.end()) return absl::NotFoundError(image + " is not on this node: pull it");
    return it->second;
  }
};

}  // namespace stockade::testing
