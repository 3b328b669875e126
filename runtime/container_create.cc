// RuntimeCore::CreateContainer: validates the request against the pod and the image, prepares
// the rootfs, resolves what the process runs as, and records the container CREATED.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/rootfs_path.h"
#include "runtime/capabilities.h"
#include "runtime/core_tables.h"
#include "runtime/id_locks.h"
#include "runtime/passwd.h"
#include "runtime/process_spec.h"
#include "runtime/runtime_core.h"
#include "runtime/seccomp_profile.h"
#include "runtime/snapshot/snapshotter.h"
#include "runtime/step_times.h"
#include "runtime/stop_signal.h"

namespace stockade {
namespace {

// An image's /etc/passwd or /etc/group, read within its rootfs (never through a link to the
// node's): missing is empty; a FIFO, device or oversized file is refused.
absl::StatusOr<std::string> ReadAccountsFile(const std::string& rootfs, const std::string& path) {
  constexpr size_t kMaxAccountsFile = 4 << 20;
  absl::StatusOr<std::string> text = ReadImageFile(rootfs, path, kMaxAccountsFile);
  if (absl::IsNotFound(text.status())) return std::string();
  return text;
}

// A Localhost seccomp profile, read and checked now so that a bad one fails CreateContainer,
// not the start; the record keeps what was read.
absl::StatusOr<std::string> ReadSeccompProfile(const std::string& path) {
  constexpr size_t kMaxProfile = 1 << 20;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("seccomp profile ", path, ": ", why));
  };
  if (path.empty() || path.front() != '/') return bad("must be an absolute path on the node");
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(absl::StrCat("cannot be read (", std::strerror(errno), ")"));
  std::string text(kMaxProfile + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxProfile) return bad("is larger than 1 MiB");
  if (absl::StatusOr<SeccompProfile> parsed = ParseSeccompProfile(text); !parsed.ok()) {
    return bad(parsed.status().message());
  }
  return text;
}

// Lexically clean and free of ".." (which CRI paths have no use for and which could climb out
// of where they are joined).
bool HasDotDot(absl::string_view path) {
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return true;
  }
  return false;
}

bool ValidCpuset(const std::string& cpus) {
  if (cpus.empty()) return true;
  for (absl::string_view range : absl::StrSplit(cpus, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(range, absl::MaxSplits('-', 1));
    int first = 0, last = 0;
    if (!absl::SimpleAtoi(ends[0], &first) || first < 0) return false;
    if (ends.size() == 2 && (!absl::SimpleAtoi(ends[1], &last) || last < first)) return false;
  }
  return true;
}

}  // namespace

// Values the kernel would refuse, or that no one could mean, are refused before anything is
// made.
absl::Status ValidateResources(const ResourceLimits& l) {
  auto bad = [](const char* field, int64_t value, const char* why) {
    return absl::InvalidArgumentError(
        absl::StrCat("resources.", field, " = ", value, " is not valid: ", why));
  };
  if (l.memory_limit_bytes && *l.memory_limit_bytes < 0) {
    return bad("memory_limit_in_bytes", *l.memory_limit_bytes, "it must be 0 (no limit) or more");
  }
  if (l.memory_limit_bytes && *l.memory_limit_bytes > 0 && *l.memory_limit_bytes < 4 << 20) {
    return bad("memory_limit_in_bytes", *l.memory_limit_bytes,
               "a container needs at least 4 MiB (4194304) to start");
  }
  if (l.cpu_shares && (*l.cpu_shares < 0 || *l.cpu_shares > 262144)) {
    return bad("cpu_shares", *l.cpu_shares, "it must be between 2 and 262144 (0: the default)");
  }
  if (l.cpu_period_us && *l.cpu_period_us != 0 &&
      (*l.cpu_period_us < 1000 || *l.cpu_period_us > 1000000)) {
    return bad("cpu_period", *l.cpu_period_us, "it must be between 1000 and 1000000 us");
  }
  if (l.cpu_quota_us && *l.cpu_quota_us > 0 && *l.cpu_quota_us < 1000) {
    return bad("cpu_quota", *l.cpu_quota_us, "it must be at least 1000 us (or -1/0: none)");
  }
  if (l.pids_limit && *l.pids_limit < -1) {
    return bad("pids_limit", *l.pids_limit, "it must be -1 (none), 0 (default) or more");
  }
  if (!ValidCpuset(l.cpuset_cpus)) {
    return absl::InvalidArgumentError(absl::StrCat("resources.cpuset_cpus \"", l.cpuset_cpus,
                                                   "\" is not a CPU list such as \"0-3,6\""));
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateContainerSpec(const ContainerSpec& spec) {
  if (spec.name.empty()) {
    return absl::InvalidArgumentError("config.metadata.name must name the container");
  }
  if (spec.image.empty()) return absl::InvalidArgumentError("config.image must name an image");
  if (absl::Status s = ValidateResources(spec.limits); !s.ok()) return s;
  if (spec.oom_score_adj && (*spec.oom_score_adj < -1000 || *spec.oom_score_adj > 1000)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resources.oom_score_adj = ", *spec.oom_score_adj, " is outside [-1000, 1000]"));
  }
  for (const VolumeMount& m : spec.mounts) {
    if (m.container_path.empty() || m.container_path.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("mount container_path \"", m.container_path, "\" must be an absolute path"));
    }
    if (HasDotDot(m.container_path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount container_path \"", m.container_path, "\" must not contain \"..\""));
    }
    if (m.host_path.empty() || m.host_path.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("mount host_path \"", m.host_path, "\" must be an absolute path"));
    }
    struct stat st;
    if (::stat(m.host_path.c_str(), &st) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount host_path ", m.host_path,
                       " does not exist on the node: create it first, or "
                       "use a hostPath volume of type DirectoryOrCreate"));
    }
  }
  if (!spec.log_path.empty() && (spec.log_path.front() == '/' || HasDotDot(spec.log_path))) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_path \"", spec.log_path,
                     "\" must be relative to the pod's log_directory, without \"..\""));
  }
  if (spec.pid == NamespaceMode::kTarget && spec.target_id.empty()) {
    return absl::InvalidArgumentError("namespace_options.pid TARGET needs a target_id");
  }
  for (const std::string* path : {&spec.stdout_path, &spec.stderr_path}) {
    if (path->empty()) continue;
    if (path->front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("output path \"", *path, "\" must be absolute"));
    }
    if (spec.tty) {
      return absl::InvalidArgumentError("a terminal container's output cannot go to a file");
    }
  }
  return absl::OkStatus();
}

// TARGET and NODE are the container's own choice; otherwise it shares the pod's PID namespace
// when the pod has one (POD) and has its own when not (CRI's POD, the unset value, included).
NamespaceMode ContainerPidMode(NamespaceMode pod, NamespaceMode container) {
  if (container == NamespaceMode::kTarget || container == NamespaceMode::kNode) return container;
  if (pod == NamespaceMode::kPod || pod == NamespaceMode::kNode) return pod;
  return NamespaceMode::kContainer;
}

}  // namespace

absl::StatusOr<std::string> RuntimeCore::CreateContainer(const std::string& pod_id_prefix,
                                                         const ContainerSpec& spec) {
  StepTimes steps;
  absl::StatusOr<std::string> pod_id = pod_ids_.Resolve(pod_id_prefix);
  if (!pod_id.ok()) return pod_id.status();
  IdLocks::Held pod_lock = locks_->Lock(*pod_id);
  std::optional<v1::PodRecord> pod = tables_->Pod(*pod_id);
  if (!pod) return absl::NotFoundError(absl::StrCat("pod sandbox ", pod_id_prefix, " not found"));
  if (pod->state() != v1::POD_STATE_READY) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", *pod_id, " is ", PodStateName(FromRecord(pod->state())),
                     ", not READY: containers can be created only in a ready pod"));
  }
  if (absl::Status s = ValidateContainerSpec(spec); !s.ok()) return s;
  for (const VolumeMount& m : spec.mounts) {
    if (absl::Status s = deps_.backend.CheckVolumePropagation(m); !s.ok()) return s;
  }
  std::optional<v1::ContainerRecord> target;
  if (spec.pid == NamespaceMode::kTarget) {
    absl::StatusOr<std::string> target_id = container_ids_.Resolve(spec.target_id);
    if (target_id.ok()) target = tables_->Container(*target_id);
    if (!target || target->pod_id() != *pod_id) {
      return absl::NotFoundError(absl::StrCat("target container ", spec.target_id,
                                              " for the PID namespace is not in this pod"));
    }
  }
  steps.Mark("validate");
  absl::StatusOr<ContainerImage> image = deps_.images.Find(spec.image);
  if (!image.ok()) return image.status();
  steps.Mark("image");
  if (absl::StatusOr<int> stop = ParseStopSignal(image->stop_signal); !stop.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image ", spec.image, ": ", stop.status().message(), "; fix the image's StopSignal"));
  }
  absl::StatusOr<std::set<int>> caps =
      ResolveCapabilities(spec.add_capabilities, spec.drop_capabilities, spec.privileged);
  if (!caps.ok()) return caps.status();
  absl::StatusOr<std::vector<std::string>> argv =
      ResolveArgv(spec.command, spec.args, image->entrypoint, image->cmd);
  if (!argv.ok()) return argv.status();

  const std::string id = NewId();
  const std::string name =
      ContainerName(spec.name, pod->name(), pod->namespace_(), pod->uid(), spec.attempt);
  if (absl::Status s = names_.Reserve(name, id); !s.ok()) return s;
  absl::Cleanup release_name = [&] { names_.Release(name); };
  IdLocks::Held lock = locks_->Lock(id);

  v1::ContainerRecord c;
  c.set_record_version(1);
  c.set_id(id);
  c.set_pod_id(*pod_id);
  c.set_name(spec.name);
  c.set_attempt(spec.attempt);
  c.set_image(image->name.empty() ? spec.image : image->name);
  c.set_image_ref(image->ref);
  c.set_image_os(image->os);
  c.set_image_id(image->id);
  c.set_created_at_unix_nano(absl::GetCurrentTimeNanos());
  c.mutable_labels()->insert(spec.labels.begin(), spec.labels.end());
  c.mutable_annotations()->insert(spec.annotations.begin(), spec.annotations.end());
  c.set_log_path(pod->log_directory().empty() || spec.log_path.empty()
                     ? ""
                     : absl::StrCat(pod->log_directory(), "/", spec.log_path));
  for (const VolumeMount& m : spec.mounts) *c.add_mounts() = ToRecord(m);
  *c.mutable_resources() = ToRecord(spec.limits);
  c.set_stop_signal(image->stop_signal);
  c.set_stdin(spec.stdin);
  c.set_stdin_once(spec.stdin && spec.stdin_once);
  c.set_tty(spec.tty);
  c.set_stdout_path(spec.stdout_path);
  c.set_stderr_path(spec.stderr_path);
  for (const std::string& layer : image->layers) c.add_layer_dirs(layer);
  c.set_cgroup_path(absl::StrCat(pod->cgroup_path(), "/ctr-", id));
  c.set_pid_mode(
      static_cast<int>(ContainerPidMode(static_cast<NamespaceMode>(pod->pid_mode()), spec.pid)));
  if (target) c.set_target_id(target->id());
  c.set_state(v1::CONTAINER_STATE_CREATING);
  if (absl::Status s = tables_->Put(c); !s.ok()) return s;
  if (absl::Status s = container_ids_.Add(id); !s.ok()) return s;
  steps.Mark("record");
  absl::Cleanup rollback = [&] {
    deps_.snapshotter.Remove(id).IgnoreError();
    tables_->DeleteContainer(id).IgnoreError();
    container_ids_.Remove(id);
  };

  absl::StatusOr<std::string> rootfs = deps_.snapshotter.Prepare(id, image->layers);
  if (!rootfs.ok()) return rootfs.status();
  c.set_rootfs(*rootfs);
  steps.Mark("snapshot");
  UserRequest user_request{spec.run_as_username, spec.run_as_user, spec.run_as_group, image->user,
                           spec.supplemental_groups};
  absl::StatusOr<std::string> passwd = ReadAccountsFile(*rootfs, "/etc/passwd");
  if (!passwd.ok()) return passwd.status();
  absl::StatusOr<std::string> group = ReadAccountsFile(*rootfs, "/etc/group");
  if (!group.ok()) return group.status();
  absl::StatusOr<ResolvedUser> user =
      ResolveUser(user_request, ParsePasswd(*passwd), ParseGroup(*group));
  if (!user.ok()) return user.status();

  v1::ProcessRecord* p = c.mutable_process();
  for (const std::string& a : *argv) p->add_argv(a);
  const std::string hostname = pod->hostname();
  std::vector<std::string> env = MergeEnv(hostname, image->env, spec.envs);
  // HOME as runc sets it, unless the image or the request does.
  if (std::none_of(env.begin(), env.end(),
                   [](const std::string& e) { return absl::StartsWith(e, "HOME="); })) {
    env.push_back("HOME=" + user->home);
  }
  for (const std::string& e : env) p->add_env(e);
  p->set_cwd(ResolveWorkingDir(spec.working_dir, image->working_dir));
  p->set_uid(user->uid);
  p->set_gid(user->gid);
  for (uint32_t g : user->additional_gids) p->add_additional_gids(g);
  for (int cap : *caps) p->add_capabilities(cap);
  p->set_no_new_privs(spec.no_new_privs);
  p->set_read_only_rootfs(spec.read_only_rootfs);
  p->set_privileged(spec.privileged);
  if (!spec.privileged) {
    for (const std::string& m : spec.masked_paths) p->add_masked_paths(m);
    for (const std::string& r : spec.readonly_paths) p->add_readonly_paths(r);
  }
  if (spec.oom_score_adj) {
    p->set_oom_score_adj(
        static_cast<int>(std::max<int64_t>(*spec.oom_score_adj, options_.node_oom_score_adj)));
  }
  // Privileged containers run unconfined, as with containerd, whatever profile they name.
  if (spec.privileged || spec.seccomp == SeccompMode::kUnconfined) {
    p->set_seccomp("unconfined");
  } else if (spec.seccomp == SeccompMode::kRuntimeDefault) {
    p->set_seccomp("runtime/default");
  } else {
    absl::StatusOr<std::string> profile = ReadSeccompProfile(spec.seccomp_profile_path);
    if (!profile.ok()) return profile.status();
    p->set_seccomp("localhost");
    p->set_seccomp_profile(*std::move(profile));
  }
  steps.Mark("process");
  c.set_state(v1::CONTAINER_STATE_CREATED);
  if (absl::Status s = tables_->Put(c); !s.ok()) return s;
  steps.Mark("created-record");
  std::move(rollback).Cancel();
  std::move(release_name).Cancel();
  Emit(c, ContainerEventType::kCreated);
  if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, "container created", {{"id", id}, {"steps", steps.Summary()}});
  }
  return id;
}

}  // namespace stockade
