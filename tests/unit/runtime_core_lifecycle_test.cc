// The runtime core against fakes of its seams: lifecycles, intent-first records, rollback on
// failure, and recovery after a restart. No root needed.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/runtime_core.h"
#include "runtime/testing/fake_backends.h"
#include "state/memory_state_store.h"
#include "stockade/v1/records.pb.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using stockade::testing::FakeImageSource;
using stockade::testing::FakeJailBackend;
using stockade::testing::FakePodNetwork;
using stockade::testing::FakeResourceLimiter;
using stockade::testing::FakeSnapshotter;
using stockade::testing::ReadFile;
using stockade::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RuntimeCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.Sub("resolv.conf")) << "nameserver 192.0.2.53\n";
    ContainerImage image;
    image.id = "sha256:" + std::string(64, 'c');
    image.ref = "127.0.0.1:5000/app@sha256:" + std::string(64, 'd');
    image.name = "127.0.0.1:5000/app:1.0";
    image.layers = {"/layers/a", "/layers/b"};
    image.entrypoint = {"/bin/app"};
    image.cmd = {"--serve"};
    image.env = {"PATH=/bin", "MODE=prod"};
    image.working_dir = "/srv";
    image.stop_signal = "SIGTERM";
    image.os = "linux";
    images_.images["app:1.0"] = image;
    image.os = "freebsd";
    images_.images["native:1.0"] = image;
    Open();
  }

  void Open() {
    RuntimeCoreOptions options;
    options.run_dir = dir_.Sub("run");
    options.netns_dir = dir_.Sub("run/netns");
    options.node_resolv_conf = dir_.Sub("resolv.conf");
    options.kill_grace = absl::Milliseconds(200);
    core_.reset();
    absl::StatusOr<std::unique_ptr<RuntimeCore>> core =
        RuntimeCore::Open({store_, backend_, limiter_, snapshotter_, images_, network_}, options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
  }

  PodSandboxSpec Pod(const std::string& name) {
    PodSandboxSpec spec;
    spec.name = name;
    spec.ns = "default";
    spec.uid = "uid-" + name;
    spec.hostname = name;
    spec.log_directory = "/var/log/pods/" + name;
    spec.labels = {{"app", name}};
    return spec;
  }

  ContainerSpec Container(const std::string& name) {
    ContainerSpec spec;
    spec.name = name;
    spec.image = "app:1.0";
    spec.log_path = name + ".log";
    return spec;
  }

  std::string RunPod(const std::string& name) {
    absl::StatusOr<std::string> id = core_->RunPod(Pod(name));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  std::string StartContainer(const std::string& pod, const std::string& name) {
    absl::StatusOr<std::string> id = core_->CreateContainer(pod, Container(name));
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(core_->StartContainer(*id).ok());
    return *id;
  }

  ContainerView Status(const std::string& id) {
    absl::StatusOr<ContainerView> v = core_->ContainerStatus(id);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(ContainerView{});
  }

  bool WaitUntilStopping(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      std::optional<ContainerView> v;
      for (const ContainerView& c : core_->ListContainers({})) {
        if (c.id == id && c.state == ContainerState::kStopping) return true;
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  TempDir dir_;
  MemoryStateStore store_;
  FakeJailBackend backend_;
  FakeResourceLimiter limiter_;
  FakeSnapshotter snapshotter_;
  FakeImageSource images_;
  FakePodNetwork network_;
  std::unique_ptr<RuntimeCore> core_;
};

TEST_F(RuntimeCoreTest, RunPodMakesTheJailScopeAndFilesThenIsReady) {
  const std::string id = RunPod("web");
  absl::StatusOr<PodSandboxView> pod = core_->PodStatus(id.substr(0, 8));
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->state, PodState::kReady);
  EXPECT_EQ(pod->network_namespace_path, dir_.Sub("run/netns/" + id));
  EXPECT_THAT(backend_.calls, ElementsAre("CreatePod " + id));
  EXPECT_EQ(limiter_.scopes.count("stockade/pod-" + id), 1u);
  const std::string pod_dir = core_->PodDir(id);
  EXPECT_EQ(ReadFile(pod_dir + "/hostname"), "web\n");
  EXPECT_EQ(ReadFile(pod_dir + "/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_THAT(ReadFile(pod_dir + "/hosts"), HasSubstr("127.0.0.1\tlocalhost"));
}

TEST_F(RuntimeCoreTest, ThePodNetworkIsAttachedAtRunAndDetachedAtStop) {
  PodSandboxSpec spec = Pod("web");
  spec.port_mappings = {{8080, 80, "tcp", ""}};
  absl::StatusOr<std::string> id = core_->RunPod(spec);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_THAT(core_->PodStatus(*id)->ips, ElementsAre("10.88.0.2", "fd00::2"));
  ASSERT_EQ(network_.attached.count(*id), 1u);
  EXPECT_EQ(network_.attached[*id].netns, dir_.Sub("run/netns/" + *id));
  EXPECT_EQ(network_.attached[*id].port_mappings.size(), 1u);
  ASSERT_TRUE(core_->StopPod(*id).ok());
  EXPECT_EQ(network_.calls.back(), "Detach " + *id + " saved-" + *id);
  EXPECT_TRUE(core_->PodStatus(*id)->ips.empty());
  ASSERT_TRUE(core_->StopPod(*id).ok());
  EXPECT_EQ(network_.calls.size(), 2u) << "detached once";

  PodSandboxSpec host = Pod("host");
  host.network = NamespaceMode::kNode;
  ASSERT_TRUE(core_->RunPod(host).ok());
  EXPECT_EQ(network_.calls.size(), 2u) << "the host network needs no CNI";
}

// One synced record before the jail, naming the network too: a daemon killed at any point
// after it leaves a record from which a restart detaches the network and destroys the jail.
TEST_F(RuntimeCoreTest, TheFirstRecordOfAPodAlreadyNamesItsNetwork) {
  std::optional<v1::PodRecord> recorded;
  backend_.on_create_pod = [&](const PodLaunch& launch) {
    absl::StatusOr<std::string> bytes = store_.Get(RecordKind::kPod, launch.jail.pod_id);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    recorded.emplace();
    ASSERT_TRUE(recorded->ParseFromString(*bytes));
  };
  absl::StatusOr<std::string> id = core_->RunPod(Pod("web"));
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->state(), v1::POD_STATE_CREATING);
  EXPECT_EQ(recorded->network_namespace_path(), dir_.Sub("run/netns/" + *id));
  EXPECT_FALSE(recorded->network_request().empty());
  EXPECT_THAT(network_.calls, ElementsAre("Attach " + *id)) << "after the record, not before";

  // What a daemon killed right after that record leaves: a restart detaches (nothing was
  // attached, and DEL of that succeeds) and rolls the pod back.
  network_.calls.clear();
  backend_.on_create_pod = nullptr;
  core_.reset();
  v1::PodRecord half = *recorded;
  half.set_id(std::string(64, 'd'));
  half.set_name("half");
  ASSERT_TRUE(
      store_.Put(RecordKind::kPod, half.id(), half.SerializeAsString(), Durability::kSync).ok());
  Open();
  EXPECT_THAT(network_.calls, ::testing::Contains("Detach " + half.id() + " "));
  EXPECT_TRUE(absl::IsNotFound(core_->PodStatus(half.id()).status()));
  EXPECT_EQ(core_->PodStatus(*id)->state, PodState::kReady);
}

TEST_F(RuntimeCoreTest, ARestartChecksTheNetworkOfReadyPods) {
  absl::StatusOr<std::string> id = core_->RunPod(Pod("web"));
  ASSERT_TRUE(id.ok());
  core_.reset();
  network_.fail_check = absl::FailedPreconditionError("eth0 is gone");
  Open();
  EXPECT_THAT(network_.calls, ::testing::Contains("Check " + *id + " saved-" + *id));
  EXPECT_EQ(core_->PodStatus(*id)->state, PodState::kReady) << "a failed CHECK is reported only";
}

TEST_F(RuntimeCoreTest, AFailedAttachLeavesNothingAndAFailedDetachStillStops) {
  network_.fail_attach = absl::FailedPreconditionError("CNI plugin bridge failed: no bridge");
  absl::StatusOr<std::string> id = core_->RunPod(Pod("web"));
  EXPECT_THAT(id.status().message(), HasSubstr("no bridge"));
  EXPECT_TRUE(core_->ListPods({}).empty());
  EXPECT_TRUE(backend_.pods.empty());
  EXPECT_TRUE(limiter_.scopes.empty());
  network_.fail_attach = absl::OkStatus();
  id = core_->RunPod(Pod("web"));
  ASSERT_TRUE(id.ok());
  network_.fail_detach = absl::FailedPreconditionError("plugin gone");
  EXPECT_TRUE(core_->StopPod(*id).ok());
  EXPECT_EQ(core_->PodStatus(*id)->state, PodState::kNotReady);
  EXPECT_TRUE(backend_.pods.empty());
}

TEST_F(RuntimeCoreTest, SameSandboxNameIsAlreadyExistsUntilRemoved) {
  const std::string id = RunPod("web");
  EXPECT_TRUE(absl::IsAlreadyExists(core_->RunPod(Pod("web")).status()));
  ASSERT_TRUE(core_->RemovePod(id).ok());
  EXPECT_TRUE(core_->RunPod(Pod("web")).ok());
}

TEST_F(RuntimeCoreTest, AFailedPodStartLeavesNothing) {
  backend_.fail_create_pod = absl::InternalError("no namespaces today");
  absl::StatusOr<std::string> id = core_->RunPod(Pod("web"));
  EXPECT_THAT(id.status().message(), HasSubstr("no namespaces today"));
  EXPECT_TRUE(core_->ListPods({}).empty());
  EXPECT_TRUE(limiter_.scopes.empty());
  EXPECT_TRUE(store_.List(RecordKind::kPod, "")->empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("run/pods")));
  backend_.fail_create_pod = absl::OkStatus();
  EXPECT_TRUE(core_->RunPod(Pod("web")).ok()) << "the name was released";
}

TEST_F(RuntimeCoreTest, BadPodRequestsAreRefusedBeforeAnythingIsMade) {
  PodSandboxSpec no_name = Pod("");
  EXPECT_TRUE(absl::IsInvalidArgument(core_->RunPod(no_name).status()));
  PodSandboxSpec bad_dns = Pod("dns");
  bad_dns.dns.servers = {"not an address"};
  EXPECT_TRUE(absl::IsInvalidArgument(core_->RunPod(bad_dns).status()));
  PodSandboxSpec node_sysctl = Pod("sysctl");
  node_sysctl.sysctls = {{"vm.swappiness", "1"}};
  EXPECT_THAT(core_->RunPod(node_sysctl).status().message(), HasSubstr("not namespaced"));
  EXPECT_TRUE(backend_.calls.empty());
  EXPECT_TRUE(core_->RunPod(Pod("dns")).ok()) << "refused names stay free";
}

TEST_F(RuntimeCoreTest, ContainerRunsWithTheImageDefaultsAndExitsWithReason) {
  const std::string pod = RunPod("web");
  ContainerSpec spec = Container("app");
  spec.envs = {{"MODE", "dev"}};
  spec.limits.memory_limit_bytes = 64 << 20;
  absl::StatusOr<std::string> id = core_->CreateContainer(pod, spec);
  ASSERT_TRUE(id.ok()) << id.status();
  ContainerView v = Status(*id);
  EXPECT_EQ(v.state, ContainerState::kCreated);
  EXPECT_EQ(v.image, "127.0.0.1:5000/app:1.0");
  EXPECT_EQ(v.image_ref, images_.images["app:1.0"].ref);
  EXPECT_EQ(v.log_path, "/var/log/pods/web/app.log");
  EXPECT_EQ(snapshotter_.prepared[*id], std::vector<std::string>({"/layers/a", "/layers/b"}));

  ASSERT_TRUE(core_->StartContainer(*id).ok());
  const ContainerLaunch& launch = backend_.last_launch;
  EXPECT_THAT(launch.process.argv, ElementsAre("/bin/app", "--serve"));
  EXPECT_THAT(launch.process.env, ::testing::Contains("MODE=dev"));
  EXPECT_EQ(launch.process.cwd, "/srv");
  EXPECT_EQ(launch.resource_scope, "stockade/pod-" + pod + "/ctr-" + *id);
  EXPECT_EQ(limiter_.scopes[launch.resource_scope].memory_limit_bytes, 64 << 20);
  EXPECT_TRUE(launch.jail.linux_image);  // the config's os, kept in the record
  EXPECT_EQ(Status(*id).state, ContainerState::kRunning);
  EXPECT_TRUE(absl::IsFailedPrecondition(core_->StartContainer(*id)));

  backend_.Exit(core_->PodDir(pod), *id, 3);
  v = Status(*id);
  EXPECT_EQ(v.state, ContainerState::kExited);
  EXPECT_EQ(v.exit_code, 3);
  EXPECT_EQ(v.reason, "Error");
}

TEST_F(RuntimeCoreTest, AFreeBsdImageIsNoLinuxImage) {
  const std::string pod = RunPod("web");
  ContainerSpec spec = Container("app");
  spec.image = "native:1.0";
  absl::StatusOr<std::string> id = core_->CreateContainer(pod, spec);
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(core_->StartContainer(*id).ok());
  EXPECT_FALSE(backend_.last_launch.jail.linux_image);
}

TEST_F(RuntimeCoreTest, OomKillIsTheReasonEvenWithExitCodeZero) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  limiter_.oom_kills[backend_.last_launch.resource_scope] = 1;
  backend_.Exit(core_->PodDir(pod), id, 0);
  EXPECT_EQ(Status(id).reason, "OOMKilled");
}

TEST_F(RuntimeCoreTest, StopSignalsOnceThenKillsAfterTheTimeout) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  backend_.exit_on_sigterm = false;
  ASSERT_TRUE(core_->StopContainer(id, absl::Milliseconds(50)).ok());
  EXPECT_THAT(backend_.pods[core_->PodDir(pod)].signals[id], ElementsAre(SIGTERM, SIGKILL));
  EXPECT_EQ(Status(id).exit_code, 128 + SIGKILL);
  // Again, and on what is gone: no signal, no error.
  ASSERT_TRUE(core_->StopContainer(id, absl::Seconds(1)).ok());
  EXPECT_EQ(backend_.pods[core_->PodDir(pod)].signals[id].size(), 2u);

  const std::string quick = StartContainer(pod, "quick");
  ASSERT_TRUE(core_->StopContainer(quick, absl::ZeroDuration()).ok());
  EXPECT_THAT(backend_.pods[core_->PodDir(pod)].signals[quick], ElementsAre(SIGKILL));
}

TEST_F(RuntimeCoreTest, StatusAndListDoNotWaitForAStopInProgress) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  backend_.exit_on_sigterm = false;
  std::thread stop([&] { EXPECT_TRUE(core_->StopContainer(id, absl::Milliseconds(800)).ok()); });
  ASSERT_TRUE(WaitUntilStopping(id));
  const absl::Time t0 = absl::Now();
  EXPECT_EQ(Status(id).state, ContainerState::kStopping);
  EXPECT_EQ(core_->ListContainers({}).size(), 1u);
  EXPECT_LT(absl::Now() - t0, absl::Milliseconds(400));
  stop.join();
  EXPECT_EQ(Status(id).state, ContainerState::kExited);
}

TEST_F(RuntimeCoreTest, BadContainerRequestsLeaveNothing) {
  const std::string pod = RunPod("web");
  ContainerSpec unknown = Container("a");
  unknown.image = "never-pulled:1";
  EXPECT_TRUE(absl::IsNotFound(core_->CreateContainer(pod, unknown).status()));
  ContainerSpec absurd = Container("b");
  absurd.limits.cpu_shares = 1'000'000'000;
  EXPECT_TRUE(absl::IsInvalidArgument(core_->CreateContainer(pod, absurd).status()));
  ContainerSpec mount = Container("c");
  mount.mounts = {{dir_.Sub("missing"), "/data", false, MountPropagation::kPrivate}};
  EXPECT_THAT(core_->CreateContainer(pod, mount).status().message(), HasSubstr("does not exist"));
  ContainerSpec user = Container("d");
  user.run_as_username = "nobody-here";
  EXPECT_FALSE(core_->CreateContainer(pod, user).ok());
  EXPECT_TRUE(snapshotter_.prepared.empty());
  EXPECT_TRUE(core_->ListContainers({}).empty());
  EXPECT_TRUE(store_.List(RecordKind::kContainer, "")->empty());

  ASSERT_TRUE(core_->StopPod(pod).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(core_->CreateContainer(pod, Container("e")).status()));
}

TEST_F(RuntimeCoreTest, AFailedStartIsStartError) {
  const std::string pod = RunPod("web");
  absl::StatusOr<std::string> id = core_->CreateContainer(pod, Container("app"));
  ASSERT_TRUE(id.ok());
  backend_.fail_start = absl::InternalError("exec format error");
  EXPECT_FALSE(core_->StartContainer(*id).ok());
  ContainerView v = Status(*id);
  EXPECT_EQ(v.state, ContainerState::kExited);
  EXPECT_EQ(v.reason, "StartError");
  EXPECT_EQ(v.exit_code, 128);
  EXPECT_THAT(v.message, HasSubstr("exec format error"));
  EXPECT_EQ(v.started_at_unix_nano, 0);
}

TEST_F(RuntimeCoreTest, StopAndRemovePodTakeTheContainersAlong) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  ASSERT_TRUE(core_->StopPod(pod).ok());
  EXPECT_EQ(core_->PodStatus(pod)->state, PodState::kNotReady);
  EXPECT_EQ(Status(id).state, ContainerState::kExited);
  EXPECT_EQ(backend_.pods.count(core_->PodDir(pod)), 0u);
  ASSERT_TRUE(core_->StopPod(pod).ok());
  ASSERT_TRUE(core_->RemovePod(pod).ok());
  ASSERT_TRUE(core_->RemovePod(pod).ok());
  EXPECT_TRUE(absl::IsNotFound(core_->ContainerStatus(id).status()));
  EXPECT_TRUE(snapshotter_.prepared.empty());
  EXPECT_TRUE(limiter_.scopes.empty());
  EXPECT_FALSE(std::filesystem::exists(core_->PodDir(pod)));
  EXPECT_TRUE(store_.List(RecordKind::kPod, "")->empty());
  EXPECT_TRUE(store_.List(RecordKind::kContainer, "")->empty());
}

TEST_F(RuntimeCoreTest, ARestartSeesExitsThatHappenedWhileDown) {
  const std::string pod = RunPod("web");
  const std::string running = StartContainer(pod, "running");
  const std::string ended = StartContainer(pod, "ended");
  core_.reset();  // the daemon is gone; the shim (the fake) keeps its state
  backend_.Exit(dir_.Sub("run/pods/" + pod), ended, 5);
  Open();
  EXPECT_EQ(Status(running).state, ContainerState::kRunning);
  ContainerView v = Status(ended);
  EXPECT_EQ(v.state, ContainerState::kExited);
  EXPECT_EQ(v.exit_code, 5);
  EXPECT_TRUE(absl::IsAlreadyExists(core_->RunPod(Pod("web")).status()))
      << "names are reserved again from the records";
}

TEST_F(RuntimeCoreTest, ARestartRollsBackInterruptedCreationsAndRemovesLeftovers) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  core_.reset();
  // A container creation interrupted after its snapshot, a snapshot no record owns, and a pod
  // directory no record owns.
  ASSERT_TRUE(snapshotter_.Prepare("orphan", {"/layers/a"}).ok());
  std::filesystem::create_directories(dir_.Sub("run/pods/stray"));
  Open();
  EXPECT_EQ(snapshotter_.prepared.count("orphan"), 0u);
  EXPECT_EQ(snapshotter_.prepared.count(id), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("run/pods/stray")));
  EXPECT_EQ(Status(id).state, ContainerState::kRunning);
}

TEST_F(RuntimeCoreTest, ARestartRollsBackRecordsLeftInCreating) {
  const std::string pod = RunPod("web");
  core_.reset();
  // What a daemon killed in the middle of RunPodSandbox and CreateContainer leaves: records
  // written first (intent), side effects partly made.
  const std::string half_pod(64, 'e'), half_container(64, 'f');
  v1::PodRecord creating_pod;
  creating_pod.set_id(half_pod);
  creating_pod.set_name("half");
  creating_pod.set_namespace_("default");
  creating_pod.set_uid("uid-half");
  creating_pod.set_state(v1::POD_STATE_CREATING);
  creating_pod.set_owns_cgroup(true);
  creating_pod.set_cgroup_path("stockade/pod-" + half_pod);
  ASSERT_TRUE(
      store_.Put(RecordKind::kPod, half_pod, creating_pod.SerializeAsString(), Durability::kSync)
          .ok());
  limiter_.scopes["stockade/pod-" + half_pod] = {};
  std::filesystem::create_directories(dir_.Sub("run/pods/" + half_pod));
  v1::ContainerRecord creating_container;
  creating_container.set_id(half_container);
  creating_container.set_pod_id(pod);
  creating_container.set_name("half");
  creating_container.set_state(v1::CONTAINER_STATE_CREATING);
  ASSERT_TRUE(store_
                  .Put(RecordKind::kContainer, half_container,
                       creating_container.SerializeAsString(), Durability::kSync)
                  .ok());
  ASSERT_TRUE(snapshotter_.Prepare(half_container, {"/layers/a"}).ok());
  backend_.calls.clear();

  Open();
  EXPECT_TRUE(absl::IsNotFound(core_->PodStatus(half_pod).status()));
  EXPECT_TRUE(absl::IsNotFound(store_.Get(RecordKind::kPod, half_pod).status()));
  EXPECT_THAT(backend_.calls, ::testing::Contains("DestroyPod " + half_pod));
  EXPECT_EQ(limiter_.scopes.count("stockade/pod-" + half_pod), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("run/pods/" + half_pod)));
  EXPECT_TRUE(absl::IsNotFound(core_->ContainerStatus(half_container).status()));
  EXPECT_TRUE(absl::IsNotFound(store_.Get(RecordKind::kContainer, half_container).status()));
  EXPECT_EQ(snapshotter_.prepared.count(half_container), 0u);
  EXPECT_EQ(core_->PodStatus(pod)->state, PodState::kReady);
  // Their names are free again.
  ContainerSpec spec = Container("half");
  EXPECT_TRUE(core_->CreateContainer(pod, spec).ok());
}

TEST_F(RuntimeCoreTest, ALostShimMakesThePodNotReadyAndItsContainersUnknown) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  core_.reset();
  backend_.pods.clear();  // the shim died with no exit record
  Open();
  EXPECT_EQ(core_->PodStatus(pod)->state, PodState::kNotReady);
  ContainerView v = Status(id);
  EXPECT_EQ(v.state, ContainerState::kUnknown);
  ASSERT_TRUE(core_->StopContainer(id, absl::Seconds(1)).ok());
  v = Status(id);
  EXPECT_EQ(v.state, ContainerState::kExited);
  EXPECT_EQ(v.exit_code, 255);
}

TEST_F(RuntimeCoreTest, ExecSyncRunsAsTheContainerOnlyWhileItRuns) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  backend_.exec_output.stdout_bytes = "ok\n";
  absl::StatusOr<ExecOutput> out = core_->ExecSync(id, {"cat", "/etc/hostname"}, absl::Seconds(1));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->stdout_bytes, "ok\n");
  EXPECT_EQ(backend_.calls.back(), "Exec " + id + " cat");
  backend_.Exit(core_->PodDir(pod), id, 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(core_->ExecSync(id, {"true"}, absl::Seconds(1)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(core_->ExecSync(id, {}, absl::Seconds(1)).status()));
}

TEST_F(RuntimeCoreTest, ListFiltersByIdPrefixStateAndLabels) {
  const std::string a = RunPod("a");
  const std::string b = RunPod("b");
  ASSERT_TRUE(core_->StopPod(b).ok());
  PodFilter ready;
  ready.state = PodState::kReady;
  ASSERT_EQ(core_->ListPods(ready).size(), 1u);
  EXPECT_EQ(core_->ListPods(ready)[0].id, a);
  PodFilter labelled;
  labelled.labels = {{"app", "b"}};
  ASSERT_EQ(core_->ListPods(labelled).size(), 1u);
  EXPECT_EQ(core_->ListPods(labelled)[0].id, b);
  PodFilter prefix;
  prefix.id = b.substr(0, 10);
  EXPECT_EQ(core_->ListPods(prefix).size(), 1u);

  const std::string c = StartContainer(a, "c");
  ContainerFilter by_pod;
  by_pod.pod_id = a.substr(0, 6);
  ASSERT_EQ(core_->ListContainers(by_pod).size(), 1u);
  ContainerFilter exited;
  exited.state = ContainerState::kExited;
  EXPECT_TRUE(core_->ListContainers(exited).empty());
  backend_.Exit(core_->PodDir(a), c, 1);
  EXPECT_EQ(core_->ListContainers(exited).size(), 1u);
}

TEST_F(RuntimeCoreTest, UpdateResourcesAppliesToARunningContainerAndIsReported) {
  const std::string pod = RunPod("web");
  const std::string id = StartContainer(pod, "app");
  ResourceLimits limits;
  limits.cpu_quota_us = 50000;
  limits.cpu_period_us = 100000;
  ASSERT_TRUE(core_->UpdateContainerResources(id, limits).ok());
  EXPECT_EQ(limiter_.scopes[backend_.last_launch.resource_scope].cpu_quota_us, 50000);
  EXPECT_EQ(Status(id).limits.cpu_quota_us, 50000);
  limits.cpu_period_us = 5;
  EXPECT_TRUE(absl::IsInvalidArgument(core_->UpdateContainerResources(id, limits)));
  ASSERT_TRUE(core_->ReopenContainerLog(id).ok());
  EXPECT_EQ(backend_.calls.back(), "ReopenLog " + id);
}

}  // namespace
}  // namespace stockade
