#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "runtime/linux/cgroups.h"

namespace stockade {
namespace {

// The v1 hierarchies a container cgroup lives in.
constexpr const char* kV1Controllers[] = {"cpu", "memory", "pids", "cpuset"};

absl::Status WriteFile(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, absl::StrCat("open ", path));
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoError(errno, absl::StrCat("write \"", value, "\" to ", path));
  }
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The controllers a container's limits use, in the order the kernel wants them enabled.
constexpr const char* kV2Controllers[] = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};

// cgroup v2 gives a cgroup's children only the controllers enabled in its
// cgroup.subtree_control: without this a container's cgroup has no memory.max.
absl::Status EnableControllersBelow(const std::string& dir) {
  const std::vector<std::string> available = absl::StrSplit(
      ReadFile(dir + "/cgroup.controllers"), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  const std::vector<std::string> enabled = absl::StrSplit(
      ReadFile(dir + "/cgroup.subtree_control"), absl::ByAnyChar(" \n"), absl::SkipEmpty());
  std::vector<std::string> writes;
  for (const char* c : kV2Controllers) {
    const bool has = std::find(available.begin(), available.end(), c) != available.end();
    const bool on = std::find(enabled.begin(), enabled.end(), c) != enabled.end();
    if (has && !on) writes.push_back(absl::StrCat("+", c));
  }
  if (writes.empty()) return absl::OkStatus();
  return WriteFile(dir + "/cgroup.subtree_control", absl::StrJoin(writes, " "));
}

}  // namespace

std::unique_ptr<LinuxCgroups> LinuxCgroups::Detect(const std::string& root) {
  const std::string controllers = ReadFile(root + "/cgroup.controllers");
  const CgroupVersion version = !controllers.empty() ? CgroupVersion::kV2 : CgroupVersion::kV1;
  return std::unique_ptr<LinuxCgroups>(new LinuxCgroups(root, version));
}

std::string LinuxCgroups::Dir(const std::string& controller, const std::string& path) const {
  return controller.empty() ? absl::StrCat(root_, "/", path)
                            : absl::StrCat(root_, "/", controller, "/", path);
}

std::vector<std::string> LinuxCgroups::Dirs(const std::string& path) const {
  if (version_ == CgroupVersion::kV2) return {Dir("", path)};
  std::vector<std::string> dirs;
  for (const char* c : kV1Controllers) dirs.push_back(Dir(c, path));
  // CPU time is counted by cpuacct: mounted with cpu on most hosts ("cpu,cpuacct", where the
  // directory is the same), on its own on some.
  std::error_code ec;
  if (Exists(Dir("cpuacct", "")) &&
      !std::filesystem::equivalent(Dir("cpuacct", ""), Dir("cpu", ""), ec)) {
    dirs.push_back(Dir("cpuacct", path));
  }
  return dirs;
}

absl::Status LinuxCgroups::Create(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("cgroup path \"", path, "\" is not relative"));
  }
  for (const std::string& dir : Dirs(path)) {
    // mkdir -p, and on v1 give each new cpuset level its parent's cpus and mems, without which
    // no task may join it.
    std::string partial;
    const std::string base = dir.substr(0, dir.size() - path.size() - 1);
    for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
      const std::string parent = absl::StrCat(base, partial);
      absl::StrAppend(&partial, "/", part);
      const std::string current = absl::StrCat(base, partial);
      if (version_ == CgroupVersion::kV2) {
        if (absl::Status s = EnableControllersBelow(parent); !s.ok()) return s;
      }
      if (::mkdir(current.c_str(), 0755) != 0) {
        if (errno == EEXIST) continue;
        return ErrnoError(errno, absl::StrCat("create cgroup ", current));
      }
      if (version_ == CgroupVersion::kV1 && absl::StrContains(base, "/cpuset")) {
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
          const std::string value(absl::StripAsciiWhitespace(ReadFile(parent + "/" + file)));
          if (absl::Status s = WriteFile(current + "/" + file, value); !s.ok()) return s;
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status LinuxCgroups::Apply(const std::string& path, const ResourceLimits& limits) {
  for (const CgroupWrite& w : PlanCgroupWrites(version_, limits)) {
    const std::string file = absl::StrCat(Dir(w.controller, path), "/", w.file);
    // memory.swap.max exists only when the kernel accounts swap.
    if (w.file == "memory.swap.max" && !Exists(file)) continue;
    if (absl::Status s = WriteFile(file, w.value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LinuxCgroups::AddProcess(const std::string& path, pid_t pid) {
  for (const std::string& dir : Dirs(path)) {
    if (absl::Status s = WriteFile(dir + "/cgroup.procs", absl::StrCat(pid)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<std::string> LinuxCgroups::ProcsFiles(const std::string& path) const {
  std::vector<std::string> files;
  const char* file = version_ == CgroupVersion::kV2 ? "/cgroup.procs" : "/tasks";
  for (const std::string& dir : Dirs(path)) files.push_back(dir + file);
  return files;
}

absl::StatusOr<int64_t> LinuxCgroups::OomKills(const std::string& path) const {
  const std::string file = version_ == CgroupVersion::kV2
                               ? Dir("", path) + "/memory.events"
                               : Dir("memory", path) + "/memory.oom_control";
  const std::string text = ReadFile(file);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "oom_kill ")) {
      int64_t n = 0;
      if (absl::SimpleAtoi(line, &n)) return n;
    }
  }
  return absl::UnavailableError(absl::StrCat(file, " reports no oom_kill count"));
}

namespace {

// SIGKILLs each process listed in the cgroup now; the pids it found.
std::vector<std::string> KillListed(const std::string& dir) {
  std::vector<std::string> listed;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(dir + "/cgroup.procs"), '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) {
      ::kill(pid, SIGKILL);
      listed.emplace_back(line);
    }
  }
  return listed;
}

// rmdir of a cgroup whose processes are still exiting fails with EBUSY for a moment after the
// container's exit was seen (crictl rm right after stop -t 0); whatever still runs in it (a
// container's orphans) is killed, and the removal waits for the kernel to empty it.
absl::Status RemoveCgroupDir(const std::string& dir) {
  constexpr absl::Duration kBound = absl::Seconds(10);
  const absl::Time deadline = absl::Now() + kBound;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) return ErrnoError(errno, absl::StrCat("remove cgroup ", dir));
    const std::vector<std::string> left = KillListed(dir);
    if (absl::Now() >= deadline) {
      return absl::FailedPreconditionError(
          absl::StrCat("remove cgroup ", dir, ": still busy after ", absl::FormatDuration(kBound),
                       left.empty() ? " (a child cgroup left in it?)"
                                    : absl::StrCat(" with processes ", absl::StrJoin(left, ", "),
                                                   " in it (stuck in D state?)")));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

}  // namespace

namespace {

// "key value" lines (memory.stat, cpu.stat) as a map.
std::map<std::string, uint64_t> KeyValues(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t v = 0;
    if (absl::SimpleAtoi(kv.second, &v)) out[std::string(kv.first)] = v;
  }
  return out;
}

uint64_t Number(const std::string& text) {
  uint64_t v = 0;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v) ? v : 0;
}

}  // namespace

absl::StatusOr<ScopeUsage> LinuxCgroups::Usage(const std::string& path) const {
  ScopeUsage u;
  const bool v2 = version_ == CgroupVersion::kV2;
  const std::string memory_dir = v2 ? Dir("", path) : Dir("memory", path);
  const std::map<std::string, uint64_t> stat = KeyValues(ReadFile(memory_dir + "/memory.stat"));
  auto get = [&](const char* key) {
    auto it = stat.find(key);
    return it == stat.end() ? 0 : it->second;
  };
  uint64_t inactive_file;
  if (v2) {
    u.cpu_usage_ns = KeyValues(ReadFile(Dir("", path) + "/cpu.stat"))["usage_usec"] * 1000;
    u.memory_usage_bytes = Number(ReadFile(memory_dir + "/memory.current"));
    u.memory_rss_bytes = get("anon");
    u.page_faults = get("pgfault");
    u.major_page_faults = get("pgmajfault");
    inactive_file = get("inactive_file");
  } else {
    const std::string own = Dir("cpuacct", path) + "/cpuacct.usage";
    u.cpu_usage_ns = Number(ReadFile(Exists(own) ? own : Dir("cpu", path) + "/cpuacct.usage"));
    u.memory_usage_bytes = Number(ReadFile(memory_dir + "/memory.usage_in_bytes"));
    u.memory_rss_bytes = get("total_rss");
    u.page_faults = get("total_pgfault");
    u.major_page_faults = get("total_pgmajfault");
    inactive_file = get("total_inactive_file");
  }
  u.memory_working_set_bytes =
      u.memory_usage_bytes > inactive_file ? u.memory_usage_bytes - inactive_file : 0;
  u.process_count = Number(ReadFile((v2 ? Dir("", path) : Dir("pids", path)) + "/pids.current"));
  return u;
}

absl::Status LinuxCgroups::KillAll(const std::string& path) {
  for (const std::string& dir : Dirs(path)) {
    if (!Exists(dir)) continue;
    if (version_ == CgroupVersion::kV2 && Exists(dir + "/cgroup.kill")) {
      if (absl::Status s = WriteFile(dir + "/cgroup.kill", "1"); !s.ok()) return s;
      continue;
    }
    // v1: a process may fork between the read and the kill; read again until the list is empty.
    const absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (!KillListed(dir).empty() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  return absl::OkStatus();
}

absl::Status LinuxCgroups::Remove(const std::string& path) {
  for (const std::string& dir : Dirs(path)) {
    if (absl::Status s = RemoveCgroupDir(dir); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace stockade
