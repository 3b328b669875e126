// CreateContainer, StartContainer, StopContainer and RemoveContainer: CRI messages to
// RuntimeCore calls.
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/cri_translate.h"
#include "cri/runtime_service.h"
#include "runtime/runtime_core.h"

namespace stockade {
namespace {

// The profile a container asks for: CRI's SecurityProfile, or the deprecated string form
// ("runtime/default", "unconfined", "localhost/<path>") that older kubelets still send.
absl::Status ToSeccomp(const runtime::v1::LinuxContainerSecurityContext& sc, ContainerSpec& spec) {
  if (sc.has_seccomp()) {
    switch (sc.seccomp().profile_type()) {
      case runtime::v1::SecurityProfile::RuntimeDefault:
        spec.seccomp = SeccompMode::kRuntimeDefault;
        return absl::OkStatus();
      case runtime::v1::SecurityProfile::Unconfined:
        spec.seccomp = SeccompMode::kUnconfined;
        return absl::OkStatus();
      case runtime::v1::SecurityProfile::Localhost:
        spec.seccomp = SeccompMode::kLocalhost;
        spec.seccomp_profile_path = sc.seccomp().localhost_ref();
        return absl::OkStatus();
      default:
        return absl::InvalidArgumentError("seccomp.profile_type is not one CRI defines");
    }
  }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const std::string& path = sc.seccomp_profile_path();
#pragma GCC diagnostic pop
  if (path.empty() || path == "unconfined") {
    spec.seccomp = SeccompMode::kUnconfined;
  } else if (path == "runtime/default" || path == "docker/default") {
    spec.seccomp = SeccompMode::kRuntimeDefault;
  } else if (absl::StartsWith(path, "localhost/")) {
    spec.seccomp = SeccompMode::kLocalhost;
    spec.seccomp_profile_path = path.substr(strlen("localhost/"));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp profile \"", path,
                     "\" is none of runtime/default, unconfined or localhost/<path>"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RuntimeServiceImpl::DoCreateContainer(
    const runtime::v1::CreateContainerRequest& request,
    runtime::v1::CreateContainerResponse& response) {
  if (request.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("pod_sandbox_id is required");
  }
  if (!request.has_config() || !request.config().has_metadata()) {
    return absl::InvalidArgumentError("config.metadata is required");
  }
  const runtime::v1::ContainerConfig& config = request.config();
  ContainerSpec spec;
  spec.name = config.metadata().name();
  spec.attempt = config.metadata().attempt();
  spec.image = config.image().image();
  spec.command.assign(config.command().begin(), config.command().end());
  spec.args.assign(config.args().begin(), config.args().end());
  spec.working_dir = config.working_dir();
  for (const runtime::v1::KeyValue& kv : config.envs()) spec.envs.push_back({kv.key(), kv.value()});
  for (const runtime::v1::Mount& m : config.mounts()) {
    spec.mounts.push_back({m.host_path(), m.container_path(), m.readonly(),
                           static_cast<MountPropagation>(m.propagation())});
  }
  spec.labels.insert(config.labels().begin(), config.labels().end());
  spec.annotations.insert(config.annotations().begin(), config.annotations().end());
  spec.log_path = config.log_path();
  spec.stdin = config.stdin();
  spec.stdin_once = config.stdin_once();
  spec.tty = config.tty();
  const runtime::v1::LinuxContainerConfig& linux = config.linux();
  spec.limits = ToLimits(linux.resources());
  if (linux.resources().oom_score_adj() != 0) {
    spec.oom_score_adj = linux.resources().oom_score_adj();
  }
  const runtime::v1::LinuxContainerSecurityContext& sc = linux.security_context();
  if (sc.has_run_as_user()) spec.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) spec.run_as_group = sc.run_as_group().value();
  spec.run_as_username = sc.run_as_username();
  spec.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  spec.privileged = sc.privileged();
  spec.read_only_rootfs = sc.readonly_rootfs();
  spec.no_new_privs = sc.no_new_privs();
  spec.add_capabilities.assign(sc.capabilities().add_capabilities().begin(),
                               sc.capabilities().add_capabilities().end());
  spec.drop_capabilities.assign(sc.capabilities().drop_capabilities().begin(),
                                sc.capabilities().drop_capabilities().end());
  spec.masked_paths.assign(sc.masked_paths().begin(), sc.masked_paths().end());
  spec.readonly_paths.assign(sc.readonly_paths().begin(), sc.readonly_paths().end());
  spec.pid = static_cast<NamespaceMode>(sc.namespace_options().pid());
  spec.target_id = sc.namespace_options().target_id();
  if (absl::Status s = ToSeccomp(sc, spec); !s.ok()) return s;
  absl::StatusOr<std::string> id = core_.CreateContainer(request.pod_sandbox_id(), spec);
  if (!id.ok()) return id.status();
  response.set_container_id(*id);
  return absl::OkStatus();
}

absl::Status RuntimeServiceImpl::DoStartContainer(const runtime::v1::StartContainerRequest& request,
                                                  runtime::v1::StartContainerResponse&) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  return core_.StartContainer(request.container_id());
}

absl::Status RuntimeServiceImpl::DoStopContainer(const runtime::v1::StopContainerRequest& request,
                                                 runtime::v1::StopContainerResponse&) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  absl::Status s = core_.StopContainer(request.container_id(), absl::Seconds(request.timeout()));
  // Stopping what is gone succeeds, as in containerd.
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status RuntimeServiceImpl::DoRemoveContainer(
    const runtime::v1::RemoveContainerRequest& request, runtime::v1::RemoveContainerResponse&) {
  if (request.container_id().empty()) return absl::InvalidArgumentError("container_id is required");
  return core_.RemoveContainer(request.container_id());
}

}  // namespace stockade
