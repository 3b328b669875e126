// The ZFS snapshotter's logic against an emulation of zfs(8) (no ZFS here): which datasets it
// makes, in what order, what each chain and clone holds, and what a crash or a failure leaves.
// The emulation keeps each dataset as a directory and each snapshot as a copy of it.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/freebsd/zfs_snapshotter.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace stockade::freebsd {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class FakeZfs {
 public:
  explicit FakeZfs(std::string pool_dir) : pool_dir_(std::move(pool_dir)) {
    fs::create_directories(pool_dir_);
    datasets_["zroot"] = {};
  }

  absl::StatusOr<std::string> operator()(const ZfsCommand& c) {
    log_.push_back(absl::StrJoin(c, " "));
    if (fail_on_ && absl::StrContains(log_.back(), *fail_on_)) {
      return absl::FailedPreconditionError("injected failure");
    }
    const std::string& verb = c.at(1);
    const std::string& target = c.back();
    std::map<std::string, std::string> props;
    for (size_t i = 2; i + 1 < c.size(); ++i) {
      if (c[i] == "-o" && absl::StrContains(c[i + 1], '=')) {
        props[c[i + 1].substr(0, c[i + 1].find('='))] = c[i + 1].substr(c[i + 1].find('=') + 1);
      }
    }
    auto missing = [&](const std::string& name) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open '", name, "': dataset does not exist"));
    };
    if (verb == "list") {
      if (absl::StrContains(target, '@')) {
        return snapshots_.contains(target) ? absl::StatusOr<std::string>(target + "\n")
                                           : missing(target);
      }
      return datasets_.contains(target) ? absl::StatusOr<std::string>(target + "\n")
                                        : missing(target);
    }
    if (verb == "create" || verb == "clone") {
      if (datasets_.contains(target)) return absl::FailedPreconditionError("already exists");
      Dataset d;
      d.mountpoint = props.contains("mountpoint") ? props["mountpoint"] : "none";
      if (verb == "clone") {
        const std::string& origin = c[c.size() - 2];
        if (!snapshots_.contains(origin)) return missing(origin);
        d.origin = origin;
        fs::copy(Backing(origin), Backing(target),
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      } else {
        fs::create_directories(Backing(target));
      }
      if (d.mountpoint != "none") {
        fs::remove_all(d.mountpoint);
        fs::rename(Backing(target), d.mountpoint);  // mounted: the data is at the mountpoint
        d.mounted = true;
      }
      datasets_[target] = d;
      return std::string();
    }
    if (verb == "set") {
      if (!datasets_.contains(target)) return missing(target);
      return std::string();
    }
    if (verb == "umount") {
      if (!datasets_.contains(target)) return missing(target);
      Dataset& d = datasets_[target];
      if (d.mounted) {
        fs::rename(d.mountpoint, Backing(target));
        fs::create_directory(d.mountpoint);
        d.mounted = false;
      }
      return std::string();
    }
    if (verb == "snapshot") {
      const std::string name = target.substr(0, target.find('@'));
      if (!datasets_.contains(name)) return missing(name);
      const Dataset& d = datasets_[name];
      fs::copy(d.mounted ? d.mountpoint : Backing(name), Backing(target),
               fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      snapshots_.insert(target);
      return std::string();
    }
    if (verb == "destroy") {
      if (!datasets_.contains(target)) return missing(target);
      for (auto it = datasets_.begin(); it != datasets_.end();) {
        if (it->first == target || absl::StartsWith(it->first, target + "/")) {
          if (it->second.mounted) fs::remove_all(it->second.mountpoint);
          fs::remove_all(Backing(it->first));
          it = datasets_.erase(it);
        } else {
          ++it;
        }
      }
      std::erase_if(snapshots_, [&](const std::string& s) {
        return absl::StartsWith(s, target + "@") || absl::StartsWith(s, target + "/");
      });
      return std::string();
    }
    if (verb == "get") {
      if (!datasets_.contains(target)) return missing(target);
      return std::string("8192\n");
    }
    return absl::UnimplementedError(absl::StrCat("the emulation has no zfs ", verb));
  }

  int Count(absl::string_view prefix) const {
    int n = 0;
    for (const std::string& line : log_) n += absl::StartsWith(line, prefix) ? 1 : 0;
    return n;
  }
  bool Has(const std::string& dataset) const { return datasets_.contains(dataset); }
  size_t DatasetCount() const { return datasets_.size(); }
  // A crash between a chain's creation and its @ready snapshot.
  void LeaveHalfMade(const std::string& dataset) {
    datasets_[dataset] = {};
    fs::create_directories(Backing(dataset));
  }
  void FailOn(std::string text) { fail_on_ = std::move(text); }
  const std::vector<std::string>& log() const { return log_; }

 private:
  struct Dataset {
    std::string mountpoint = "none", origin;
    bool mounted = false;
  };
  std::string Backing(const std::string& name) const {
    return absl::StrCat(pool_dir_, "/", absl::StrReplaceAll(name, {{"/", "_"}}));
  }
  std::string pool_dir_;
  std::map<std::string, Dataset> datasets_;
  std::set<std::string> snapshots_;
  std::vector<std::string> log_;
  std::optional<std::string> fail_on_;
};

class ZfsSnapshotterTest : public ::testing::Test {
 protected:
  // Layer directories as the unpacker leaves them in WhiteoutMode::kMarkers: the OCI marker
  // files kept, empty.
  void SetUp() override {
    layers_["base"] =
        MakeLayer("base", {{"etc/os-release", "base\n"}, {"etc/gone", "x"}, {"opaque/old", "o"}});
    layers_["top"] = MakeLayer("top", {{"etc/os-release", "top\n"},
                                       {"etc/.wh.gone", ""},
                                       {"opaque/.wh..wh..opq", ""},
                                       {"opaque/new", "n"}});
    layers_["other"] = MakeLayer("other", {{"other", "o"}});
  }
  std::string MakeLayer(const std::string& name, const std::map<std::string, std::string>& files) {
    const std::string dir = dir_.Sub("layers/" + name);
    for (const auto& [path, content] : files) {
      fs::create_directories(fs::path(dir + "/" + path).parent_path());
      std::ofstream(dir + "/" + path) << content;
    }
    return dir;
  }
  absl::StatusOr<std::unique_ptr<Snapshotter>> Open() {
    return NewZfsSnapshotter(
        {"zroot/stockade", dir_.Sub("snapshots"), dir_.Sub("zfs-chains"), WhiteoutMode::kMarkers},
        [this](const ZfsCommand& c) { return zfs_(c); });
  }
  std::vector<std::string> Layers(std::initializer_list<const char*> names) {
    std::vector<std::string> out;
    for (const char* n : names) out.push_back(layers_[n]);
    return out;
  }

  TempDir dir_;
  FakeZfs zfs_{dir_.Sub("pool")};
  std::map<std::string, std::string> layers_;
};

TEST_F(ZfsSnapshotterTest, ImagesShareTheirBaseChainAndEachContainerGetsAClone) {
  absl::StatusOr<std::unique_ptr<Snapshotter>> s = Open();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(zfs_.Has("zroot/stockade"));  // made under the pool when missing
  EXPECT_EQ((*s)->Name(), "zfs");

  absl::StatusOr<std::string> one = (*s)->Prepare("c1", Layers({"base", "top"}));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, dir_.Sub("snapshots/c1/rootfs"));
  EXPECT_EQ(testing::ReadFile(*one + "/etc/os-release"), "top\n");
  EXPECT_FALSE(fs::exists(*one + "/etc/gone"));
  EXPECT_FALSE(fs::exists(*one + "/opaque/old"));
  EXPECT_EQ(testing::ReadFile(*one + "/opaque/new"), "n");
  EXPECT_FALSE(fs::exists(*one + "/etc/.wh.gone"));
  EXPECT_FALSE(fs::exists(*one + "/opaque/.wh..wh..opq"));

  absl::StatusOr<std::string> two = (*s)->Prepare("c2", Layers({"base", "other"}));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(testing::ReadFile(*two + "/etc/os-release"), "base\n");
  EXPECT_EQ(testing::ReadFile(*two + "/other"), "o");
  // Three chains (base, base+top, base+other): the base was built once, not per image.
  EXPECT_EQ(zfs_.Count("zfs create -p -o mountpoint=" + dir_.Sub("zfs-chains")), 1);
  EXPECT_EQ(zfs_.Count("zfs snapshot"), 3);
  EXPECT_EQ(zfs_.Count("zfs clone -p -o mountpoint=" + dir_.Sub("snapshots")), 2);
  // Each chain is sealed read-only and unmounted before its snapshot; no build mount is left.
  EXPECT_TRUE(fs::is_empty(dir_.Sub("zfs-chains")));

  // A container's writes stay in its clone.
  std::ofstream(*one + "/etc/os-release") << "written\n";
  absl::StatusOr<std::string> three = (*s)->Prepare("c3", Layers({"base", "top"}));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(testing::ReadFile(*three + "/etc/os-release"), "top\n");
  EXPECT_EQ((*s)->Prepare("c3", Layers({"base", "top"})).status().code(),
            absl::StatusCode::kAlreadyExists);

  absl::StatusOr<DiskUsage> usage = (*s)->Usage("c1");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->bytes, 8192u);
  EXPECT_THAT(*(*s)->List(), ::testing::UnorderedElementsAre("c1", "c2", "c3"));

  ASSERT_TRUE((*s)->Remove("c1").ok());
  EXPECT_FALSE(zfs_.Has("zroot/stockade/containers/c1"));
  EXPECT_FALSE(fs::exists(dir_.Sub("snapshots/c1")));
  EXPECT_EQ((*s)->Usage("c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE((*s)->Remove("c1").ok());  // removing an unknown key succeeds
  EXPECT_EQ((*s)->Remove("../x").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ZfsSnapshotterTest, AChainHalfMadeByACrashIsDiscardedAndBuiltAgain) {
  absl::StatusOr<std::unique_ptr<Snapshotter>> s = Open();
  ASSERT_TRUE(s.ok());
  const std::string base = LayerChainDataset("zroot/stockade", Layers({"base"}), 1);
  zfs_.LeaveHalfMade(base);
  absl::StatusOr<std::string> rootfs = (*s)->Prepare("c1", Layers({"base"}));
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(zfs_.Count("zfs destroy -r -f " + base), 1);
  EXPECT_EQ(testing::ReadFile(*rootfs + "/etc/os-release"), "base\n");
}

TEST_F(ZfsSnapshotterTest, AFailedBuildLeavesNoChainCloneOrDirectory) {
  absl::StatusOr<std::unique_ptr<Snapshotter>> s = Open();
  ASSERT_TRUE(s.ok());
  const size_t before = zfs_.DatasetCount();
  std::vector<std::string> layers = Layers({"base", "top"});
  zfs_.FailOn("zfs snapshot " + LayerChainDataset("zroot/stockade", layers, 2));
  absl::StatusOr<std::string> rootfs = (*s)->Prepare("c1", layers);
  EXPECT_EQ(rootfs.status().code(), absl::StatusCode::kFailedPrecondition) << rootfs.status();
  EXPECT_THAT(rootfs.status().message(), ::testing::HasSubstr("build ZFS layer chain"));
  EXPECT_FALSE(zfs_.Has(LayerChainDataset("zroot/stockade", layers, 2)));
  EXPECT_TRUE(zfs_.Has(LayerChainDataset("zroot/stockade", layers, 1)));  // sealed: kept
  EXPECT_EQ(zfs_.DatasetCount(), before + 1);                             // the base chain
  EXPECT_FALSE(fs::exists(dir_.Sub("snapshots/c1")));
  EXPECT_TRUE(fs::is_empty(dir_.Sub("zfs-chains")));

  // A layer directory that is gone fails the same way.
  zfs_.FailOn("nothing matches this");
  layers.push_back(dir_.Sub("layers/missing"));
  rootfs = (*s)->Prepare("c2", layers);
  EXPECT_FALSE(rootfs.ok());
  EXPECT_FALSE(zfs_.Has(LayerChainDataset("zroot/stockade", layers, 3)));
  EXPECT_FALSE(fs::exists(dir_.Sub("snapshots/c2")));
}

TEST_F(ZfsSnapshotterTest, ABadOrUnmakeableDatasetIsRefusedWithTheFix) {
  absl::StatusOr<std::unique_ptr<Snapshotter>> bad =
      NewZfsSnapshotter({"/zroot/x", dir_.Sub("s"), dir_.Sub("b")}, std::ref(zfs_));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  zfs_.FailOn("zfs create");
  absl::StatusOr<std::unique_ptr<Snapshotter>> unmade = Open();
  EXPECT_EQ(unmade.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unmade.status().message(), ::testing::HasSubstr("zfs create -o mountpoint=none"));
}

}  // namespace
}  // namespace stockade::freebsd
