// CRI mount propagation through the real daemon, both ways, as critest checks it: a host
// directory made a shared mount, a volume of it in a container, a mount made on each side.
// Private sees neither, HostToContainer the host's, Bidirectional both; a source that cannot
// propagate is refused. Root.
#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/support/pod_fixture.h"

namespace stockade::testing {
namespace {

using ::testing::HasSubstr;

class PropagationTest : public PodFixture {
 protected:
  void SetUp() override {
    PodFixture::SetUp();
    source_ = dir_.Sub("mnt");
    flag_dir_ = dir_.Sub("flags");
    std::filesystem::create_directories(source_ + "/from-host");
    std::filesystem::create_directories(source_ + "/from-container");
    std::filesystem::create_directories(flag_dir_);
    std::ofstream(flag_dir_ + "/flag") << "x";
  }
  void TearDown() override {
    for (const char* p : {"/from-host", "/from-container", ""}) {
      ::umount2((source_ + p).c_str(), MNT_DETACH);
    }
    PodFixture::TearDown();
  }

  // The source as a mount point of its own with the given propagation (MS_SHARED...).
  void MakeSourceMount(unsigned long propagation) {
    ASSERT_EQ(::mount(source_.c_str(), source_.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0);
    ASSERT_EQ(::mount(nullptr, source_.c_str(), nullptr, propagation | MS_REC, nullptr), 0);
  }

  // Starts a container with the source as a volume; then mounts on the host and in the
  // container, and says what each side sees of the other's mount.
  struct Seen {
    bool container_sees_host, host_sees_container;
  };
  Seen Exchange(v1::MountPropagation propagation) {
    const std::string pod = RunPod(PodConfig("prop"));
    v1::ContainerConfig c = ContainerConfig("c", {"sleep", "1000"});
    c.mutable_linux()->mutable_security_context()->set_privileged(true);
    c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
    auto* m = c.add_mounts();
    m->set_host_path(source_);
    m->set_container_path("/vol");
    m->set_propagation(propagation);
    const std::string id = Start(pod, c);
    EXPECT_EQ(
        ::mount(flag_dir_.c_str(), (source_ + "/from-host").c_str(), nullptr, MS_BIND, nullptr), 0);
    v1::ExecSyncResponse resp;
    EXPECT_TRUE(Exec(id, {"ls", "/vol/from-host"}, 10, &resp).ok());
    const bool container_sees_host = resp.stdout() == "flag\n";
    EXPECT_TRUE(Exec(id, {"mount", "--bind", "/etc", "/vol/from-container"}, 10, &resp).ok());
    EXPECT_EQ(resp.exit_code(), 0) << resp.stderr();
    const bool host_sees_container = std::filesystem::exists(source_ + "/from-container/passwd");
    return {container_sees_host, host_sees_container};
  }

  std::string source_, flag_dir_;
};

TEST_F(PropagationTest, PrivateSeesNeitherSide) {
  MakeSourceMount(MS_SHARED);
  const Seen seen = Exchange(v1::PROPAGATION_PRIVATE);
  EXPECT_FALSE(seen.container_sees_host);
  EXPECT_FALSE(seen.host_sees_container);
}

TEST_F(PropagationTest, HostToContainerSeesTheHostsMountsOnly) {
  MakeSourceMount(MS_SHARED);
  const Seen seen = Exchange(v1::PROPAGATION_HOST_TO_CONTAINER);
  EXPECT_TRUE(seen.container_sees_host);
  EXPECT_FALSE(seen.host_sees_container);
}

TEST_F(PropagationTest, BidirectionalSeesBothWays) {
  MakeSourceMount(MS_SHARED);
  const Seen seen = Exchange(v1::PROPAGATION_BIDIRECTIONAL);
  EXPECT_TRUE(seen.container_sees_host);
  EXPECT_TRUE(seen.host_sees_container);
}

TEST_F(PropagationTest, ASourceThatCannotPropagateIsRefused) {
  MakeSourceMount(MS_PRIVATE);
  const std::string pod = RunPod(PodConfig("refused"));
  for (v1::MountPropagation p :
       {v1::PROPAGATION_BIDIRECTIONAL, v1::PROPAGATION_HOST_TO_CONTAINER}) {
    v1::ContainerConfig c = ContainerConfig(absl::StrCat("c", static_cast<int>(p)), {"true"});
    auto* m = c.add_mounts();
    m->set_host_path(source_);
    m->set_container_path("/vol");
    m->set_propagation(p);
    std::string id;
    grpc::Status s = Create(pod, c, &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(source_));
    EXPECT_THAT(s.error_message(), HasSubstr("not a shared mount"));
  }
}

}  // namespace
}  // namespace stockade::testing
