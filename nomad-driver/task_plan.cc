#include "nomad-driver/task_plan.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "plugins/drivers/proto/driver.pb.h"

namespace stockade::nomad {
namespace proto = hashicorp::nomad::plugins::drivers::proto;

namespace {

absl::Status Bad(absl::string_view what) { return absl::InvalidArgumentError(std::string(what)); }

// Nomad's user: "name", "uid", "uid:gid" (or name:group with numbers only for the group).
absl::Status ApplyUser(const std::string& user, ContainerSpec& c) {
  if (user.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(user, absl::MaxSplits(':', 1));
  int64_t uid = 0;
  if (absl::SimpleAtoi(parts[0], &uid) && uid >= 0) {
    c.run_as_user = uid;
  } else {
    c.run_as_username = parts[0];
  }
  if (parts.size() == 2) {
    int64_t gid = 0;
    if (!absl::SimpleAtoi(parts[1], &gid) || gid < 0) {
      return Bad(absl::StrCat("user \"", user, "\": the group must be a number"));
    }
    c.run_as_group = gid;
  }
  return absl::OkStatus();
}

// The alloc dir's shared and task-private directories, where Nomad's other drivers put them.
void AddTaskDirs(const proto::TaskConfig& task, ContainerSpec& c) {
  if (task.alloc_dir().empty()) return;
  const std::string task_dir = absl::StrCat(task.alloc_dir(), "/", task.name());
  const std::pair<std::string, std::string> dirs[] = {
      {absl::StrCat(task.alloc_dir(), "/alloc"), "/alloc"},
      {task_dir + "/local", "/local"},
      {task_dir + "/secrets", "/secrets"},
  };
  for (const auto& [host, inside] : dirs) {
    struct stat st;
    if (::stat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      c.mounts.push_back({host, inside, false, MountPropagation::kPrivate});
    }
  }
}

absl::Status AddMounts(const proto::TaskConfig& task, const TaskDriverConfig& config,
                       ContainerSpec& c) {
  for (const proto::Mount& m : task.mounts()) {
    if (m.host_path().empty() || m.host_path().front() != '/' || m.task_path().empty()) {
      return Bad(absl::StrCat("mount ", m.host_path(), " -> ", m.task_path(),
                              ": both paths must be set, the host's absolute"));
    }
    std::string target = m.task_path().front() == '/' ? m.task_path() : "/" + m.task_path();
    MountPropagation propagation = MountPropagation::kPrivate;
    if (m.propagation_mode() == "host-to-task") propagation = MountPropagation::kHostToContainer;
    if (m.propagation_mode() == "bidirectional") propagation = MountPropagation::kBidirectional;
    c.mounts.push_back({m.host_path(), target, m.readonly(), propagation});
  }
  for (const TaskMount& m : config.mounts) {
    c.mounts.push_back({m.source, m.target, m.read_only, MountPropagation::kPrivate});
  }
  for (const proto::Device& d : task.devices()) {
    if (d.host_path().empty() || d.host_path().front() != '/') {
      return Bad(absl::StrCat("device \"", d.host_path(), "\" must be an absolute path"));
    }
    const std::string target = d.task_path().empty() ? d.host_path() : d.task_path();
    if (target.front() != '/') {
      return Bad(absl::StrCat("device task_path \"", target, "\" must be absolute"));
    }
    // The node's device file bound in: the container's /dev is a tmpfs that allows device
    // nodes, and no device cgroup stands in between; without "w" the bind is read-only.
    struct stat st;
    if (::stat(d.host_path().c_str(), &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", d.host_path(), " is not a device on this node"));
    }
    const std::string perms = d.cgroup_permissions().empty() ? "rwm" : d.cgroup_permissions();
    c.mounts.push_back(
        {d.host_path(), target, perms.find('w') == std::string::npos, MountPropagation::kPrivate});
  }
  return absl::OkStatus();
}

absl::Status ApplyResources(const proto::TaskConfig& task, ContainerSpec& c) {
  const proto::Resources& r = task.resources();
  const proto::LinuxResources& lr = r.linux_resources();
  int64_t shares = r.allocated_resources().cpu().cpu_shares();
  if (shares == 0) shares = lr.cpu_shares();
  if (shares > 0) c.limits.cpu_shares = std::max<int64_t>(shares, 2);
  if (lr.cpu_quota() > 0 && lr.cpu_period() > 0) {
    c.limits.cpu_quota_us = lr.cpu_quota();
    c.limits.cpu_period_us = lr.cpu_period();
  }
  // Nomad's reserved cores (`resources { cores = N }`) arrive as a cpuset.
  c.limits.cpuset_cpus = lr.cpuset_cpus();
  if (const int64_t memory = MemoryLimitBytes(task); memory > 0) {
    c.limits.memory_limit_bytes = memory;
  }
  if (lr.oom_score_adj() != 0) c.oom_score_adj = lr.oom_score_adj();
  return absl::OkStatus();
}

// The group network's ports this task names in `ports`: on its own network, each label maps
// host port `value` to `to` (or the same port) inside the pod.
absl::Status ApplyPorts(const proto::TaskConfig& task, const TaskDriverConfig& config,
                        TaskPlan& plan) {
  // The deprecated task-level `resources { network {} }` ports come only in the allocated
  // networks: seen as mappings of the port to itself.
  std::vector<proto::PortMapping> task_level;
  for (const proto::NetworkResource& n : task.resources().allocated_resources().networks()) {
    for (const auto* ports : {&n.reserved_ports(), &n.dynamic_ports()}) {
      for (const proto::NetworkPort& p : *ports) {
        proto::PortMapping m;
        m.set_label(p.label());
        m.set_value(p.value());
        m.set_to(p.value());
        m.set_host_ip(n.ip());
        task_level.push_back(std::move(m));
      }
    }
  }
  for (const std::string& label : config.ports) {
    const proto::PortMapping* found = nullptr;
    for (const proto::PortMapping& p : task.resources().ports()) {
      if (p.label() == label) found = &p;
    }
    for (const proto::PortMapping& p : task_level) {
      if (found == nullptr && p.label() == label) found = &p;
    }
    if (found == nullptr) {
      return Bad(absl::StrCat("ports: \"", label,
                              "\" is not a port of the group's network block; add it there"));
    }
    if (!plan.own_network) continue;
    const int inside = found->to() > 0 ? found->to() : found->value();
    plan.pod.port_mappings.push_back({found->value(), inside, "tcp", found->host_ip()});
    plan.pod.port_mappings.push_back({found->value(), inside, "udp", found->host_ip()});
    plan.port_map[label] = inside;
  }
  return absl::OkStatus();
}

absl::Status ChooseNetwork(const proto::TaskConfig& task, const TaskDriverConfig& config,
                           const PluginConfig& plugin, TaskPlan& plan) {
  const proto::NetworkIsolationSpec& spec = task.network_isolation_spec();
  const bool group = task.has_network_isolation_spec() &&
                     spec.mode() == proto::NetworkIsolationSpec::GROUP && !spec.path().empty();
  if (group) {
    if (config.network_mode == "bridge") {
      return Bad(
          "network_mode \"bridge\" conflicts with the group's network namespace; "
          "remove network_mode or the group's network block");
    }
    plan.pod.network = NamespaceMode::kPod;
    plan.pod.network_namespace_path = spec.path();
    if (!spec.hostsconfig().hostname().empty() && plan.pod.hostname.empty()) {
      plan.pod.hostname = spec.hostsconfig().hostname();
    }
    return absl::OkStatus();
  }
  std::string mode = config.network_mode;
  if (mode.empty()) mode = plugin.network.empty() || plugin.network == "host" ? "host" : "bridge";
  if (mode == "host") {
    plan.pod.network = NamespaceMode::kNode;
    return absl::OkStatus();
  }
  plan.pod.network = NamespaceMode::kPod;
  plan.own_network = true;
  return absl::OkStatus();
}

}  // namespace

std::string SanitizeName(absl::string_view name) {
  std::string out;
  for (char ch : name) {
    out.push_back(absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
                          ch == '-'
                      ? ch
                      : '_');
    if (out.size() == 63) break;
  }
  if (out.empty() || out.front() == '.' || out.front() == '-') out.insert(out.begin(), 't');
  return out.substr(0, 63);
}

int64_t MemoryLimitBytes(const proto::TaskConfig& task) {
  const proto::AllocatedMemoryResources& m = task.resources().allocated_resources().memory();
  if (m.memory_max_mb() > 0) return m.memory_max_mb() << 20;
  if (m.memory_mb() > 0) return m.memory_mb() << 20;
  return task.resources().linux_resources().memory_limit_bytes();
}

absl::StatusOr<TaskPlan> PlanTask(const proto::TaskConfig& task, const TaskDriverConfig& config,
                                  const PluginConfig& plugin) {
  if (task.id().empty()) return Bad("the task has no id");
  if (config.privileged && !plugin.allow_privileged) {
    return absl::PermissionDeniedError(
        "privileged tasks are off on this client: set allow_privileged = true in the plugin "
        "\"nomad-driver-stockade\" config block to allow them");
  }
  TaskPlan plan;
  plan.force_pull = config.force_pull;
  if (config.auth_username) plan.credentials.username = *config.auth_username;
  if (config.auth_password) plan.credentials.password = *config.auth_password;

  PodSandboxSpec& pod = plan.pod;
  pod.name = SanitizeName(task.name());
  pod.ns = task.namespace_().empty() ? "default" : SanitizeName(task.namespace_());
  pod.uid = task.id();
  pod.hostname = config.hostname;
  pod.labels = {{kTaskIdLabel, task.id()},
                {kAllocIdLabel, task.alloc_id()},
                {kJobLabel, task.job_name()},
                {kGroupLabel, task.task_group_name()},
                {kTaskNameLabel, task.name()}};
  pod.sysctls = config.sysctl;
  pod.dns.servers.assign(task.dns().servers().begin(), task.dns().servers().end());
  pod.dns.searches.assign(task.dns().searches().begin(), task.dns().searches().end());
  pod.dns.options.assign(task.dns().options().begin(), task.dns().options().end());
  if (absl::Status s = ChooseNetwork(task, config, plugin, plan); !s.ok()) return s;
  if (absl::Status s = ApplyPorts(task, config, plan); !s.ok()) return s;

  ContainerSpec& c = plan.container;
  c.name = pod.name;
  c.image = config.image;
  // Docker's rule, as Nomad's docker driver: entrypoint replaces the image's, command (with
  // args) its Cmd; command alone with no entrypoint runs command and args.
  c.command = config.entrypoint;
  if (!config.command.empty()) c.args.push_back(config.command);
  c.args.insert(c.args.end(), config.args.begin(), config.args.end());
  c.working_dir = config.work_dir;
  for (const auto& [k, v] : task.env()) c.envs.emplace_back(k, v);
  c.labels = pod.labels;
  c.privileged = config.privileged;
  c.read_only_rootfs = config.readonly_rootfs;
  c.add_capabilities = config.cap_add;
  c.drop_capabilities = config.cap_drop;
  c.seccomp = config.privileged ? SeccompMode::kUnconfined : SeccompMode::kRuntimeDefault;
  c.no_new_privs = !config.privileged;
  c.stdout_path = task.stdout_path();
  c.stderr_path = task.stderr_path();
  if (absl::Status s = ApplyUser(task.user(), c); !s.ok()) return s;
  AddTaskDirs(task, c);
  if (absl::Status s = AddMounts(task, config, c); !s.ok()) return s;
  if (absl::Status s = ApplyResources(task, c); !s.ok()) return s;
  return plan;
}

}  // namespace stockade::nomad
