// Pods and containers through the real stockaded and stockade-shim, over the CRI socket, with
// images pulled from a registry on 127.0.0.1. Root: namespaces, mounts and cgroups are real.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "runtime/v1/api.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/files.h"
#include "tests/support/pod_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_registry.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

class PodTest : public PodFixture {};

// Debian's umoci writes "/" and absolute names in every layer; other tools prefix "./".
// containerd takes both relative to the layer root, and so must we, at pull and at run time.
TEST_F(PodTest, ImagesWithAbsoluteAndDotPrefixedLayerNamesPullAndRun) {
  v1::PullImageRequest pull;
  pull.mutable_image()->set_image(registry_->Ref("stockade-test/umoci:1.0"));
  v1::PullImageResponse pulled;
  grpc::Status s = images_->PullImage(Ctx().get(), pull, &pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string pod = RunPod(PodConfig("umoci"));
  v1::ContainerConfig config = ContainerConfig("c", {});
  config.mutable_image()->set_image(registry_->Ref("stockade-test/umoci:1.0"));
  EXPECT_EQ(OutputOf(pod, config),
            "from a umoci-style layer\nfrom a umoci-style layer\nfrom a ./-prefixed layer\n");
}

// kubelet probes keep running while a container is in its stop grace period: an ExecSync must
// not wait behind the StopContainer that holds the container.
TEST_F(PodTest, ProbesAreAnsweredWhileAContainerStops) {
  const std::string pod = RunPod(PodConfig("probes"));
  const std::string id =
      Start(pod, ContainerConfig("c", {"sh", "-c",
                                       "trap 'echo got-term' TERM; while true; do sleep 1; "
                                       "done"}));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    EXPECT_TRUE(Stop(id, 8).ok());
    stopped = true;
  });
  const std::string log = Status(id).log_path();
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(log), "got-term"); }, absl::Seconds(10)));
  v1::ExecSyncResponse resp;
  grpc::Status s = Exec(id, {"echo", "alive"}, 2, &resp);
  EXPECT_FALSE(stopped.load()) << "the probe was answered only after the stop";
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), "alive\n");
  stopper.join();
  EXPECT_EQ(Status(id).state(), v1::CONTAINER_EXITED);
}

// What kubelet's image GC does: an image is in use when a container's image_ref in
// ListContainers equals the id of an image in ListImages.
TEST_F(PodTest, ListContainersNamesTheImageIdThatImageGcMatches) {
  const std::string pod = RunPod(PodConfig("gc"));
  const std::string id = Start(pod, ContainerConfig("c", {"sleep", "1000"}));
  v1::ListImagesResponse images;
  ASSERT_TRUE(images_->ListImages(Ctx().get(), {}, &images).ok());
  std::set<std::string> image_ids;
  for (const v1::Image& i : images.images()) image_ids.insert(i.id());
  v1::ListContainersResponse containers;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), {}, &containers).ok());
  ASSERT_EQ(containers.containers_size(), 1);
  const v1::Container& c = containers.containers(0);
  EXPECT_EQ(image_ids.count(c.image_ref()), 1u) << c.image_ref() << " is no image's id";
  EXPECT_EQ(c.image_ref(), registry_->Image("stockade-test/busybox:1.0")["config_digest"]);
  // ContainerStatus, as containerd: the repo digest as image_ref, the id as image_id.
  const v1::ContainerStatus status = Status(id);
  EXPECT_EQ(
      status.image_ref(),
      absl::StrCat(
          image_.substr(0, image_.rfind(':')), "@",
          registry_->Image("stockade-test/busybox:1.0")["manifest_digest"].get<std::string>()));
  EXPECT_EQ(status.image_id(), c.image_ref());
}

// crictl rm right after crictl stop -t 0: the container's processes may still be leaving its
// cgroup; the removal waits for them instead of failing with EBUSY.
TEST_F(PodTest, RemoveRightAfterAnImmediateStopSucceeds) {
  const std::string pod = RunPod(PodConfig("quickrm"));
  for (int i = 0; i < 3; ++i) {
    const std::string id =
        Start(pod, ContainerConfig(absl::StrCat("c", i),
                                   {"sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait"}));
    ASSERT_TRUE(Stop(id, 0).ok());
    v1::RemoveContainerRequest rm;
    rm.set_container_id(id);
    v1::RemoveContainerResponse rm_resp;
    grpc::Status s = runtime_->RemoveContainer(Ctx().get(), rm, &rm_resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    const std::string scope = absl::StrCat("stockade/pod-", pod, "/ctr-", id);
    EXPECT_FALSE(Exists(absl::StrCat("/sys/fs/cgroup/memory/", scope)));
    EXPECT_FALSE(Exists(absl::StrCat("/sys/fs/cgroup/pids/", scope)));
  }
}

TEST_F(PodTest, ExitCodeReasonAndCriLogsOfBothStreams) {
  const std::string pod = RunPod(PodConfig("logs"));
  const std::string id =
      Start(pod, ContainerConfig("c", {"sh", "-c",
                                       "echo to-out; echo to-err >&2; printf partial; "
                                       "exit 3"}));
  v1::ContainerStatus status = WaitExited(id);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_EQ(status.reason(), "Error");
  EXPECT_GT(status.started_at(), status.created_at());
  EXPECT_GE(status.finished_at(), status.started_at());
  EXPECT_EQ(status.log_path(), absl::StrCat(logs_, "/logs/c.log"));
  EXPECT_THAT(status.image_ref(), HasSubstr("@sha256:"));
  std::vector<LogLine> lines = ReadCriLog(status.log_path());
  ASSERT_EQ(lines.size(), 3u) << Texts(lines);
  EXPECT_EQ(Texts(lines, "stdout"), "to-out\npartial\n");
  EXPECT_EQ(Texts(lines, "stderr"), "to-err\n");
  for (const LogLine& l : lines) {
    EXPECT_EQ(l.tag, "F") << l.text;  // each line ended, "partial" at EOF
  }
}

TEST_F(PodTest, CompletedContainerAndImageDefaults) {
  const std::string pod = RunPod(PodConfig("defaults"));
  // No command: the image's Entrypoint + Cmd (echo "hello from stockade"), user app, /data.
  v1::ContainerStatus status;
  EXPECT_EQ(OutputOf(pod, ContainerConfig("c", {}), &status), "hello from stockade\n");
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
  EXPECT_EQ(OutputOf(pod, ContainerConfig("d", {"sh", "-c", "id -u; pwd; echo $GREETING"})),
            "1000\n/data\nhello\n");
}

TEST_F(PodTest, StopSendsTheStopSignalThenKillsAfterTheTimeout) {
  const std::string pod = RunPod(PodConfig("stop"));
  // PID 1 of its namespace ignores SIGTERM unless it handles it: SIGKILL after the timeout.
  const std::string stubborn = Start(pod, ContainerConfig("stubborn", {"sleep", "1000"}));
  const std::string polite =
      Start(pod, ContainerConfig("polite", {"sh", "-c",
                                            "trap 'echo bye; exit 0' TERM; "
                                            "while true; do sleep 0.05; done"}));
  ASSERT_EQ(Status(stubborn).state(), v1::CONTAINER_RUNNING);
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(Stop(stubborn, 1).ok());
  EXPECT_GE(absl::Now() - t0, absl::Seconds(1));
  v1::ContainerStatus s = Status(stubborn);
  EXPECT_EQ(s.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(s.exit_code(), 128 + SIGKILL);
  ASSERT_TRUE(Stop(polite, 30).ok());
  s = Status(polite);
  EXPECT_EQ(s.exit_code(), 0);
  EXPECT_EQ(s.reason(), "Completed");
  EXPECT_THAT(Texts(ReadCriLog(s.log_path())), HasSubstr("bye"));
  // Stop is idempotent, on an exited container and on one that never existed.
  EXPECT_TRUE(Stop(polite, 5).ok());
  EXPECT_TRUE(Stop(std::string(64, 'a'), 5).ok());
}

TEST_F(PodTest, MemoryLimitedContainerIsOomKilled) {
  const std::string pod = RunPod(PodConfig("oom"));
  v1::ContainerConfig config =
      ContainerConfig("hog", {"sh", "-c", "a=$(head -c 300000000 /dev/urandom); echo survived"});
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 << 20);
  const std::string id = Start(pod, config);
  v1::ContainerStatus status = WaitExited(id, absl::Seconds(60));
  EXPECT_EQ(status.reason(), "OOMKilled");
  EXPECT_NE(status.exit_code(), 0);
  EXPECT_EQ(status.resources().linux().memory_limit_in_bytes(), 32 << 20);
  EXPECT_THAT(Texts(ReadCriLog(status.log_path())), ::testing::Not(HasSubstr("survived")));
}

TEST_F(PodTest, ReadOnlyRootfsRefusesWrites) {
  const std::string pod = RunPod(PodConfig("ro"));
  v1::ContainerConfig config =
      ContainerConfig("c", {"sh", "-c", "touch /new-file || echo refused; touch /tmp/x"});
  config.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
  v1::ContainerStatus status;
  const std::string out = OutputOf(pod, config, &status);
  EXPECT_THAT(out, HasSubstr("Read-only file system"));
  EXPECT_THAT(out, HasSubstr("refused"));
  EXPECT_NE(status.exit_code(), 0);
}

TEST_F(PodTest, RunAsUserAndGroups) {
  const std::string pod = RunPod(PodConfig("user"));
  v1::ContainerConfig config = ContainerConfig("c", {"sh", "-c", "id -u; id -g; id -G"});
  auto* sc = config.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1000);
  sc->mutable_run_as_group()->set_value(3000);
  sc->add_supplemental_groups(4000);
  EXPECT_EQ(OutputOf(pod, config), "1000\n3000\n3000 4000\n");
  v1::ContainerConfig root = ContainerConfig("r", {"id", "-u"});
  root.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  EXPECT_EQ(OutputOf(pod, root), "0\n");
}

TEST_F(PodTest, SharedPidNamespaceShowsTheOtherContainersProcesses) {
  v1::PodSandboxConfig shared = PodConfig("sharedpid");
  shared.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  const std::string pod = RunPod(shared);
  Start(pod, ContainerConfig("sleeper", {"sleep", "1001"}));
  EXPECT_THAT(OutputOf(pod, ContainerConfig("ps", {"ps"})), HasSubstr("sleep 1001"));

  // Without sharing, a container sees only its own processes.
  const std::string alone = RunPod(PodConfig("ownpid"));
  Start(alone, ContainerConfig("sleeper", {"sleep", "1002"}));
  EXPECT_THAT(OutputOf(alone, ContainerConfig("ps", {"ps"})),
              ::testing::Not(HasSubstr("sleep 1002")));
}

TEST_F(PodTest, ExecSyncOutputExitCodeAndTimeout) {
  const std::string pod = RunPod(PodConfig("exec"));
  const std::string id = Start(pod, ContainerConfig("c", {"sleep", "1000"}));
  v1::ExecSyncResponse resp;
  grpc::Status s =
      Exec(id, {"sh", "-c", "echo out; echo err >&2; id -u; hostname; exit 7"}, 10, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), "out\n1000\nexec\n");
  EXPECT_EQ(resp.stderr(), "err\n");
  EXPECT_EQ(resp.exit_code(), 7);
  // It runs in the container's filesystem and PID namespace: PID 1 is the sleep.
  s = Exec(id, {"cat", "/proc/1/cmdline"}, 10, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.stdout(), std::string("sleep\0001000\0", 11));
  const absl::Time t0 = absl::Now();
  s = Exec(id, {"sleep", "30"}, 1, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(10));
  s = Exec(id, {"no-such-command"}, 5, &resp);
  EXPECT_FALSE(s.ok() && resp.exit_code() == 0);
}

TEST_F(PodTest, HostnameResolvConfAndHosts) {
  v1::PodSandboxConfig config = PodConfig("web-1");
  config.mutable_dns_config()->add_servers("10.96.0.10");
  config.mutable_dns_config()->add_searches("default.svc.cluster.local");
  config.mutable_dns_config()->add_options("ndots:5");
  const std::string pod = RunPod(config);
  EXPECT_EQ(OutputOf(pod, ContainerConfig("c", {"sh", "-c",
                                                "hostname; cat /etc/hostname /etc/resolv.conf; "
                                                "grep -c localhost /etc/hosts"})),
            "web-1\nweb-1\nsearch default.svc.cluster.local\nnameserver 10.96.0.10\n"
            "options ndots:5\n2\n");
}

TEST_F(PodTest, BindMountsReadWriteAndReadOnly) {
  const std::string host = dir_.Sub("volume");
  std::filesystem::create_directories(host);
  std::ofstream(host + "/from-host.txt") << "host data\n";
  const std::string pod = RunPod(PodConfig("mounts"));
  v1::ContainerConfig config =
      ContainerConfig("c", {"sh", "-c",
                            "cat /ro/from-host.txt; touch /ro/x || echo ro-refused; "
                            "echo written > /rw/from-container.txt"});
  config.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  auto* ro = config.add_mounts();
  ro->set_host_path(host);
  ro->set_container_path("/ro");
  ro->set_readonly(true);
  auto* rw = config.add_mounts();
  rw->set_host_path(host);
  rw->set_container_path("/rw");
  v1::ContainerStatus status;
  const std::string out = OutputOf(pod, config, &status);
  EXPECT_THAT(out, HasSubstr("host data"));
  EXPECT_THAT(out, HasSubstr("ro-refused"));
  EXPECT_EQ(ReadFile(host + "/from-container.txt"), "written\n");
  ASSERT_EQ(status.mounts_size(), 2);
  EXPECT_EQ(status.mounts(0).container_path(), "/ro");
  EXPECT_TRUE(status.mounts(0).readonly());
}

TEST_F(PodTest, SeccompRuntimeDefaultDeniesWhatItMust) {
  const std::string pod = RunPod(PodConfig("seccomp"));
  // A user namespace needs no capability: only the profile can refuse it.
  v1::ContainerConfig config =
      ContainerConfig("c", {"sh", "-c", "unshare -U true && echo unshared; echo done"});
  EXPECT_THAT(OutputOf(pod, config), HasSubstr("unshared"));
  config.mutable_metadata()->set_name("d");
  config.set_log_path("d.log");
  config.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
      v1::SecurityProfile::RuntimeDefault);
  const std::string out = OutputOf(pod, config);
  EXPECT_THAT(out, ::testing::Not(HasSubstr("unshared")));
  EXPECT_THAT(out, HasSubstr("done"));
}

// kubelet's Localhost profiles (and the deprecated "localhost/<path>" string): applied, checked
// at create, and left out for privileged containers, as containerd does.
TEST_F(PodTest, SeccompLocalhostProfilesAreAppliedCheckedAndSkippedWhenPrivileged) {
  const std::string profile = dir_.Sub("block-chmod.json");
  std::ofstream(profile) << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO"}]})";
  const std::string pod = RunPod(PodConfig("localhost"));
  const std::vector<std::string> try_chmod = {
      "sh", "-c", "touch /tmp/f && chmod 600 /tmp/f 2>/dev/null && echo changed || echo refused"};
  v1::ContainerConfig c = ContainerConfig("c", try_chmod);
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc->mutable_seccomp()->set_localhost_ref(profile);
  EXPECT_EQ(OutputOf(pod, c), "refused\n");
  // The deprecated field, as older kubelets send it.
  v1::ContainerConfig old = ContainerConfig("old", try_chmod);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  old.mutable_linux()->mutable_security_context()->set_seccomp_profile_path("localhost/" + profile);
#pragma GCC diagnostic pop
  EXPECT_EQ(OutputOf(pod, old), "refused\n");
  v1::ContainerConfig privileged = ContainerConfig("p", try_chmod);
  *privileged.mutable_linux()->mutable_security_context() = *sc;
  privileged.mutable_linux()->mutable_security_context()->set_privileged(true);
  EXPECT_EQ(OutputOf(pod, privileged), "changed\n");

  // Missing and malformed profiles: INVALID_ARGUMENT naming the file, nothing created.
  std::ofstream(dir_.Sub("broken.json")) << R"({"defaultAction": "SCMP_ACT_SOMETIMES"})";
  for (const std::string& bad : {dir_.Sub("missing.json"), dir_.Sub("broken.json")}) {
    v1::ContainerConfig b = ContainerConfig("bad", {"true"});
    b.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
        v1::SecurityProfile::Localhost);
    b.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_localhost_ref(bad);
    std::string id;
    grpc::Status s = Create(pod, b, &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(bad));
  }
  EXPECT_THAT(ReadFile(dir_.Sub("broken.json")), HasSubstr("SOMETIMES"));
  v1::ListContainersRequest list;
  list.mutable_filter()->mutable_label_selector();
  v1::ListContainersResponse containers;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), list, &containers).ok());
  EXPECT_EQ(containers.containers_size(), 3);  // c, old, p
}

TEST_F(PodTest, ListsFilterByIdStateAndLabels) {
  v1::PodSandboxConfig a = PodConfig("list-a");
  (*a.mutable_labels())["app"] = "a";
  const std::string pod_a = RunPod(a);
  const std::string pod_b = RunPod(PodConfig("list-b"));
  v1::ContainerConfig labelled = ContainerConfig("c", {"sleep", "1000"});
  (*labelled.mutable_labels())["tier"] = "web";
  const std::string running = Start(pod_a, labelled);
  std::string created;
  ASSERT_TRUE(Create(pod_b, ContainerConfig("c", {"true"}), &created).ok());

  v1::ListPodSandboxRequest pods;
  (*pods.mutable_filter()->mutable_label_selector())["app"] = "a";
  v1::ListPodSandboxResponse pod_list;
  ASSERT_TRUE(runtime_->ListPodSandbox(Ctx().get(), pods, &pod_list).ok());
  ASSERT_EQ(pod_list.items_size(), 1);
  EXPECT_EQ(pod_list.items(0).id(), pod_a);
  EXPECT_EQ(pod_list.items(0).metadata().name(), "list-a");

  v1::ListContainersRequest req;
  req.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
  v1::ListContainersResponse list;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), req, &list).ok());
  ASSERT_EQ(list.containers_size(), 1);
  EXPECT_EQ(list.containers(0).id(), running);
  req.Clear();
  req.mutable_filter()->set_pod_sandbox_id(pod_b.substr(0, 12));
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), req, &list).ok());
  ASSERT_EQ(list.containers_size(), 1);
  EXPECT_EQ(list.containers(0).id(), created);
  EXPECT_EQ(list.containers(0).state(), v1::CONTAINER_CREATED);
  req.Clear();
  (*req.mutable_filter()->mutable_label_selector())["tier"] = "web";
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), req, &list).ok());
  ASSERT_EQ(list.containers_size(), 1);
  EXPECT_EQ(list.containers(0).id(), running);
}

TEST_F(PodTest, NamesAreUniqueAndStopAndRemoveAreIdempotent) {
  const std::string pod = RunPod(PodConfig("names"));
  v1::RunPodSandboxRequest again;
  *again.mutable_config() = PodConfig("names");
  v1::RunPodSandboxResponse resp;
  EXPECT_EQ(runtime_->RunPodSandbox(Ctx().get(), again, &resp).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  std::string id;
  ASSERT_TRUE(Create(pod, ContainerConfig("c", {"true"}), &id).ok());
  std::string second;
  EXPECT_EQ(Create(pod, ContainerConfig("c", {"true"}), &second).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  v1::PodSandboxStatusRequest status_req;
  status_req.set_pod_sandbox_id(pod);
  status_req.set_verbose(true);
  v1::PodSandboxStatusResponse status;
  ASSERT_TRUE(runtime_->PodSandboxStatus(Ctx().get(), status_req, &status).ok());
  EXPECT_EQ(status.status().state(), v1::SANDBOX_READY);
  EXPECT_THAT(status.info().at("info"), HasSubstr("netNamespacePath"));

  for (int i = 0; i < 2; ++i) {
    v1::StopPodSandboxRequest stop;
    stop.set_pod_sandbox_id(pod);
    v1::StopPodSandboxResponse stopped;
    ASSERT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
  }
  ASSERT_TRUE(runtime_->PodSandboxStatus(Ctx().get(), status_req, &status).ok());
  EXPECT_EQ(status.status().state(), v1::SANDBOX_NOTREADY);
  EXPECT_FALSE(Exists(absl::StrCat(daemon_->run_dir, "/netns/", pod)));
  for (int i = 0; i < 2; ++i) {
    v1::RemovePodSandboxRequest remove;
    remove.set_pod_sandbox_id(pod);
    v1::RemovePodSandboxResponse removed;
    ASSERT_TRUE(runtime_->RemovePodSandbox(Ctx().get(), remove, &removed).ok());
  }
  ExpectNothingLeftOf(pod);
  EXPECT_EQ(runtime_->PodSandboxStatus(Ctx().get(), status_req, &status).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::RemoveContainerRequest rm;
  rm.set_container_id(id);
  v1::RemoveContainerResponse rm_resp;
  EXPECT_TRUE(runtime_->RemoveContainer(Ctx().get(), rm, &rm_resp).ok());
}

TEST_F(PodTest, BadRequestsGetClearErrorsAndLeaveNothing) {
  const std::string pod = RunPod(PodConfig("bad"));
  auto snapshots = [&] {
    std::error_code ec;
    size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator(absl::StrCat(daemon_->state_dir, "/snapshots"), ec)) {
      ++n;
    }
    return n;
  };
  const size_t before = snapshots();
  std::string id;
  v1::ContainerConfig unknown_image = ContainerConfig("a", {"true"});
  unknown_image.mutable_image()->set_image("127.0.0.1:1/never/pulled:1");
  grpc::Status s = Create(pod, unknown_image, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("pull it first"));

  v1::ContainerConfig missing_mount = ContainerConfig("b", {"true"});
  missing_mount.add_mounts()->set_host_path(dir_.Sub("does-not-exist"));
  missing_mount.mutable_mounts(0)->set_container_path("/x");
  s = Create(pod, missing_mount, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("does not exist"));

  v1::ContainerConfig no_user = ContainerConfig("c", {"true"});
  no_user.mutable_linux()->mutable_security_context()->set_run_as_username("nobody-here");
  s = Create(pod, no_user, &id);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("nobody-here"));

  v1::ContainerConfig absurd = ContainerConfig("d", {"true"});
  absurd.mutable_linux()->mutable_resources()->set_cpu_shares(1'000'000'000);
  s = Create(pod, absurd, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("cpu_shares"));
  absurd.mutable_linux()->mutable_resources()->set_cpu_shares(0);
  absurd.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(-5);
  EXPECT_EQ(Create(pod, absurd, &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(snapshots(), before);
  v1::ListContainersResponse list;
  ASSERT_TRUE(runtime_->ListContainers(Ctx().get(), {}, &list).ok());
  EXPECT_EQ(list.containers_size(), 0);
  // The names of the refused containers are free again.
  ASSERT_TRUE(Create(pod, ContainerConfig("a", {"true"}), &id).ok());

  v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse stopped;
  ASSERT_TRUE(runtime_->StopPodSandbox(Ctx().get(), stop, &stopped).ok());
  s = Create(pod, ContainerConfig("e", {"true"}), &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("not READY"));
}

TEST_F(PodTest, KillNineAndRestartLosesNothing) {
  const std::string pod = RunPod(PodConfig("restart"));
  const std::string ticker =
      Start(pod, ContainerConfig("ticker", {"sh", "-c",
                                            "i=0; while true; do echo tick $i; "
                                            "i=$((i+1)); sleep 0.1; done"}));
  const std::string quitter =
      Start(pod, ContainerConfig("quitter", {"sh", "-c", "sleep 1; echo leaving; exit 5"}));
  const std::string ticker_log = Status(ticker).log_path();
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  daemon_->Stop(SIGKILL);
  // While stockaded is down the quitter ends; the shim records it.
  ASSERT_TRUE(WaitFor(
      [&] { return Exists(absl::StrCat(daemon_->run_dir, "/pods/", pod, "/", quitter, ".exit")); },
      absl::Seconds(20)));
  const size_t lines_while_down = ReadCriLog(ticker_log).size();
  StartDaemon();

  v1::ContainerStatus q = Status(quitter);
  EXPECT_EQ(q.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(q.exit_code(), 5);
  EXPECT_EQ(q.reason(), "Error");
  EXPECT_THAT(Texts(ReadCriLog(q.log_path())), HasSubstr("leaving"));
  EXPECT_EQ(Status(ticker).state(), v1::CONTAINER_RUNNING);
  ASSERT_TRUE(WaitFor([&] { return ReadCriLog(ticker_log).size() > lines_while_down + 3; },
                      absl::Seconds(10)));
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(ticker, {"echo", "still here"}, 10, &resp).ok());
  EXPECT_EQ(resp.stdout(), "still here\n");
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(pod);
  v1::PodSandboxStatusResponse pod_status;
  ASSERT_TRUE(runtime_->PodSandboxStatus(Ctx().get(), req, &pod_status).ok());
  EXPECT_EQ(pod_status.status().state(), v1::SANDBOX_READY);
  // TearDown removes the pod and checks that nothing of it is left.
}

TEST_F(PodTest, RemovingTheImageOfALiveContainerKeepsItsLayers) {
  const std::string pod = RunPod(PodConfig("gc"));
  std::string id;
  ASSERT_TRUE(Create(pod, ContainerConfig("c", {"cat", "/data/hello.txt"}), &id).ok());
  v1::RemoveImageRequest remove;
  remove.mutable_image()->set_image(image_);
  v1::RemoveImageResponse removed;
  ASSERT_TRUE(images_->RemoveImage(Ctx().get(), remove, &removed).ok());
  v1::StartContainerRequest start;
  start.set_container_id(id);
  v1::StartContainerResponse started;
  ASSERT_TRUE(runtime_->StartContainer(Ctx().get(), start, &started).ok());
  v1::ContainerStatus status = WaitExited(id);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(Texts(ReadCriLog(status.log_path())), "hello from layer 2\n");
}

TEST_F(PodTest, HostNetworkSysctlsCgroupLimitsAndOomScore) {
  v1::PodSandboxConfig host = PodConfig("hostnet");
  host.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  const std::string host_pod = RunPod(host);
  char node_name[256] = {};
  ::gethostname(node_name, sizeof(node_name) - 1);
  EXPECT_EQ(OutputOf(host_pod, ContainerConfig("c", {"hostname"})), std::string(node_name) + "\n");
  EXPECT_FALSE(Exists(absl::StrCat(daemon_->run_dir, "/netns/", host_pod)));

  v1::PodSandboxConfig tuned = PodConfig("sysctl");
  (*tuned.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "80";
  (*tuned.mutable_linux()->mutable_sysctls())["kernel.shmmni"] = "1000";
  const std::string pod = RunPod(tuned);
  EXPECT_EQ(
      OutputOf(pod, ContainerConfig("s", {"cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start",
                                          "/proc/sys/kernel/shmmni"})),
      "80\n1000\n");

  v1::ContainerConfig limited =
      ContainerConfig("l", {"sh", "-c", "cat /proc/self/oom_score_adj; sleep 1000"});
  auto* r = limited.mutable_linux()->mutable_resources();
  r->set_cpu_period(100000);
  r->set_cpu_quota(50000);
  r->set_cpu_shares(512);
  r->set_memory_limit_in_bytes(64 << 20);
  r->set_oom_score_adj(-999);  // lower than the daemon's own: clamped to it
  const std::string id = Start(pod, limited);
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(true);
  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(runtime_->ContainerStatus(Ctx().get(), req, &resp).ok());
  const std::string scope = absl::StrCat("stockade/pod-", pod, "/ctr-", id);
  EXPECT_EQ(ReadFile(absl::StrCat("/sys/fs/cgroup/cpu/", scope, "/cpu.cfs_quota_us")), "50000\n");
  EXPECT_EQ(ReadFile(absl::StrCat("/sys/fs/cgroup/cpu/", scope, "/cpu.shares")), "512\n");
  EXPECT_EQ(ReadFile(absl::StrCat("/sys/fs/cgroup/memory/", scope, "/memory.limit_in_bytes")),
            absl::StrCat(64 << 20, "\n"));
  const std::string own = ReadFile("/proc/self/oom_score_adj");
  ASSERT_TRUE(
      WaitFor([&] { return !ReadCriLog(resp.status().log_path()).empty(); }, absl::Seconds(10)));
  EXPECT_EQ(Texts(ReadCriLog(resp.status().log_path())), own);

  v1::UpdateContainerResourcesRequest update;
  update.set_container_id(id);
  update.mutable_linux()->set_cpu_period(100000);
  update.mutable_linux()->set_cpu_quota(20000);
  v1::UpdateContainerResourcesResponse updated;
  ASSERT_TRUE(runtime_->UpdateContainerResources(Ctx().get(), update, &updated).ok());
  EXPECT_EQ(ReadFile(absl::StrCat("/sys/fs/cgroup/cpu/", scope, "/cpu.cfs_quota_us")), "20000\n");
  EXPECT_EQ(Status(id).resources().linux().cpu_quota(), 20000);
}

TEST_F(PodTest, PrivilegedGetsEveryCapabilityAndAWritableSys) {
  const std::string pod = RunPod(PodConfig("priv"));
  v1::ContainerConfig normal = ContainerConfig(
      "n",
      {"sh", "-c", "grep CapEff /proc/self/status; grep ' /sys ' /proc/mounts | cut -d' ' -f4"});
  normal.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  std::string out = OutputOf(pod, normal);
  EXPECT_THAT(out, HasSubstr("CapEff:\t00000000a80425fb"));  // containerd's default set
  EXPECT_THAT(out, HasSubstr("ro,"));
  v1::ContainerConfig priv = normal;
  priv.mutable_metadata()->set_name("p");
  priv.set_log_path("p.log");
  priv.mutable_linux()->mutable_security_context()->set_privileged(true);
  out = OutputOf(pod, priv);
  // Every capability stockaded holds (root here may lack some).
  std::string own;
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/self/status"), '\n')) {
    if (absl::StartsWith(line, "CapEff:")) own = std::string(line);
  }
  EXPECT_THAT(out, HasSubstr(own));
  EXPECT_THAT(out, HasSubstr("rw,"));
}

TEST_F(PodTest, TargetPidNamespaceJoinsTheOtherContainer) {
  const std::string pod = RunPod(PodConfig("target"));
  const std::string app = Start(pod, ContainerConfig("app", {"sleep", "1003"}));
  v1::ContainerConfig debug = ContainerConfig("debug", {"ps"});
  auto* ns = debug.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_pid(v1::TARGET);
  ns->set_target_id(app);
  EXPECT_THAT(OutputOf(pod, debug), HasSubstr("sleep 1003"));
}

TEST_F(PodTest, ReopenContainerLogAfterRotation) {
  const std::string pod = RunPod(PodConfig("rotate"));
  const std::string id =
      Start(pod, ContainerConfig("c", {"sh", "-c", "while true; do echo line; sleep 0.05; done"}));
  const std::string log = Status(id).log_path();
  ASSERT_TRUE(WaitFor([&] { return !ReadCriLog(log).empty(); }, absl::Seconds(10)));
  std::filesystem::rename(log, log + ".1");
  v1::ReopenContainerLogRequest req;
  req.set_container_id(id);
  v1::ReopenContainerLogResponse resp;
  ASSERT_TRUE(runtime_->ReopenContainerLog(Ctx().get(), req, &resp).ok());
  EXPECT_TRUE(WaitFor([&] { return Exists(log) && !ReadCriLog(log).empty(); }, absl::Seconds(10)));
}

}  // namespace
}  // namespace stockade::testing
