// Every snapshotter builds the same root filesystem from the same unpacked layers: overlayfs and
// the copy over overlay-form layers (Linux), and the copy over OCI-marker layers (FreeBSD's form,
// run here for real).
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "imagestore/layer_unpacker.h"
#include "runtime/snapshot/snapshotter.h"
#include "tests/support/files.h"
#include "tests/support/string_source.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using testing::StringSource;
using testing::TarBuilder;
using testing::TempDir;

class SnapshotterTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test is labelled root and must run as root";
    const std::vector<std::string> tars = {
        TarBuilder()
            .Dir("etc")
            .File("etc/os-release", "base\n")
            .File("etc/gone", "x")
            .Dir("opaque")
            .File("opaque/old", "o")
            .File("bin/tool", "#!", 0755, 0, 0)
            .Hardlink("bin/tool2", "bin/tool")
            .Finish(),
        TarBuilder()
            .File("etc/os-release", "top\n")
            .File("etc/.wh.gone", "")
            .Dir("opaque")
            .File("opaque/.wh..wh..opq", "")
            .File("opaque/new", "n")
            .Symlink("link", "etc/os-release")
            .Finish(),
    };
    for (size_t i = 0; i < tars.size(); ++i) {
      const std::string dir = dir_.Sub("layer" + std::to_string(i));
      std::filesystem::create_directories(dir);
      StringSource source(tars[i]);
      UnpackOptions options = DefaultUnpackOptions();
      options.whiteouts = LayerForm();
      ASSERT_TRUE(UnpackLayer(source, dir, options).ok());
      layers_.push_back(dir);
    }
    absl::StatusOr<std::unique_ptr<Snapshotter>> s =
        GetParam() == "overlay" ? NewOverlaySnapshotter(dir_.Sub("snapshots"))
                                : NewCopySnapshotter(dir_.Sub("snapshots"), LayerForm());
    ASSERT_TRUE(s.ok());
    snapshotter_ = *std::move(s);
  }
  WhiteoutMode LayerForm() const {
    return GetParam() == "copy_markers" ? WhiteoutMode::kMarkers : WhiteoutMode::kOverlay;
  }
  void TearDown() override {
    if (snapshotter_) {
      absl::StatusOr<std::vector<std::string>> keys = snapshotter_->List();
      for (const std::string& key : keys.value_or(std::vector<std::string>{})) {
        snapshotter_->Remove(key).IgnoreError();
      }
    }
  }
  TempDir dir_;
  std::vector<std::string> layers_;
  std::unique_ptr<Snapshotter> snapshotter_;
};

TEST_P(SnapshotterTest, MergedViewHonoursWhiteoutsAndKeepsLayersPristine) {
  absl::StatusOr<std::string> rootfs = snapshotter_->Prepare("ctr-1", layers_);
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(testing::ReadFile(*rootfs + "/etc/os-release"), "top\n");
  EXPECT_FALSE(std::filesystem::exists(*rootfs + "/etc/gone"));
  EXPECT_FALSE(std::filesystem::exists(*rootfs + "/opaque/old"));
  EXPECT_EQ(testing::ReadFile(*rootfs + "/opaque/new"), "n");
  EXPECT_EQ(testing::ReadFile(*rootfs + "/link"), "top\n");
  for (const char* marker : {"/etc/.wh.gone", "/opaque/.wh..wh..opq"}) {
    EXPECT_FALSE(std::filesystem::exists(*rootfs + marker)) << marker;
  }
  struct stat st;
  ASSERT_EQ(::stat((*rootfs + "/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(st.st_nlink, 2u);

  // Writes land in the snapshot only.
  std::ofstream(*rootfs + "/etc/os-release") << "changed\n";
  std::filesystem::remove(*rootfs + "/bin/tool2");
  EXPECT_EQ(testing::ReadFile(layers_[1] + "/etc/os-release"), "top\n");
  EXPECT_TRUE(std::filesystem::exists(layers_[0] + "/bin/tool2"));

  // A second snapshot of the same layers is independent.
  absl::StatusOr<std::string> other = snapshotter_->Prepare("ctr-2", layers_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(testing::ReadFile(*other + "/etc/os-release"), "top\n");
  EXPECT_EQ(snapshotter_->Prepare("ctr-1", layers_).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(snapshotter_->List()->size(), 2u);

  ASSERT_TRUE(snapshotter_->Remove("ctr-1").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("snapshots/ctr-1")));
  EXPECT_TRUE(snapshotter_->Remove("ctr-1").ok());
  EXPECT_EQ(snapshotter_->Remove("../escape").code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Both, SnapshotterTest,
                         ::testing::Values("overlay", "copy", "copy_markers"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace stockade
