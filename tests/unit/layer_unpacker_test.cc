// Layer extraction on real temp dirs, including hand-made hostile tarballs.
#include "imagestore/layer_unpacker.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/files.h"
#include "tests/support/string_source.h"
#include "tests/support/tar_builder.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::HasSubstr;
using testing::StringSource;
using testing::TarBuilder;
using testing::TempDir;

UnpackOptions Unprivileged() {
  UnpackOptions o;
  o.whiteouts = WhiteoutMode::kApply;
  return o;
}

absl::StatusOr<UnpackResult> Unpack(const std::string& tar, const std::string& dest,
                                    const UnpackOptions& o = Unprivileged()) {
  StringSource source(tar, 1000);  // odd chunk size: entries straddle reads
  return UnpackLayer(source, dest, o);
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(LayerUnpacker, ExtractsFilesDirsLinksModesAndReportsTheDiffId) {
  TempDir dir;
  const std::string tar = TarBuilder()
                              .Dir("bin", 0755)
                              .File("bin/tool", "#!/bin/sh\n", 0755)
                              .File("./etc/config", "x=1\n", 0640)
                              .Symlink("bin/alias", "tool")
                              .Symlink("abs-link", "/etc/passwd")  // fine: a link, not a write
                              .Hardlink("bin/tool-hard", "bin/tool")
                              .Finish();
  absl::StatusOr<UnpackResult> r = Unpack(tar, dir.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, Sha256::Of(tar));
  EXPECT_EQ(r->bytes, tar.size());
  EXPECT_EQ(r->entries, 6u);
  EXPECT_EQ(testing::ReadFile(dir.Sub("bin/tool")), "#!/bin/sh\n");
  struct stat st;
  ASSERT_EQ(::stat(dir.Sub("bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtime, 1700000000);
  ASSERT_EQ(::stat(dir.Sub("etc/config").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(std::filesystem::read_symlink(dir.Sub("bin/alias")), "tool");
  EXPECT_EQ(std::filesystem::read_symlink(dir.Sub("abs-link")), "/etc/passwd");
}

TEST(LayerUnpacker, AcceptsTarWithoutEndBlocksAsContainerdDoes) {
  TempDir dir;
  const std::string tar = TarBuilder().File("a", "aaa").File("b", "bbb").FinishWithoutEndBlocks();
  absl::StatusOr<UnpackResult> r = Unpack(tar, dir.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFile(dir.Sub("b")), "bbb");
  EXPECT_EQ(r->diff_id, Sha256::Of(tar));
}

TEST(LayerUnpacker, GzipStreamIsDecompressedOnTheWay) {
  TempDir dir;
  const std::string tar = TarBuilder().File("data/file", std::string(100000, 'z')).Finish();
  auto source = MakeDecompressingSource(std::make_unique<StringSource>(Gzip(tar), 777),
                                        LayerCompression::kGzip);
  absl::StatusOr<UnpackResult> r = UnpackLayer(*source, dir.path(), Unprivileged());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, Sha256::Of(tar));
  EXPECT_EQ(testing::ReadFile(dir.Sub("data/file")).size(), 100000u);
}

TEST(LayerUnpacker, ConcatenatedGzipMembersAreOneStream) {
  TempDir dir;
  const std::string tar = TarBuilder().File("a", std::string(70000, 'a')).File("b", "b").Finish();
  const std::string gz = Gzip(tar.substr(0, 30000)) + Gzip(tar.substr(30000));
  auto source =
      MakeDecompressingSource(std::make_unique<StringSource>(gz, 999), LayerCompression::kGzip);
  absl::StatusOr<UnpackResult> r = UnpackLayer(*source, dir.path(), Unprivileged());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, Sha256::Of(tar));
  EXPECT_EQ(testing::ReadFile(dir.Sub("b")), "b");
}

TEST(LayerUnpacker, CorruptGzipIsDataLoss) {
  TempDir dir;
  std::string gz = Gzip(TarBuilder().File("f", std::string(50000, 'q')).Finish());
  for (size_t i = 20; i < 40; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  auto source =
      MakeDecompressingSource(std::make_unique<StringSource>(gz), LayerCompression::kGzip);
  EXPECT_EQ(UnpackLayer(*source, dir.path(), Unprivileged()).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(LayerUnpacker, TruncatedGzipIsDataLoss) {
  TempDir dir;
  const std::string gz = Gzip(TarBuilder().File("f", std::string(50000, 'q')).Finish());
  auto source = MakeDecompressingSource(std::make_unique<StringSource>(gz.substr(0, gz.size() / 2)),
                                        LayerCompression::kGzip);
  absl::StatusOr<UnpackResult> r = UnpackLayer(*source, dir.path(), Unprivileged());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
}

struct HostileCase {
  std::string name;
  std::function<std::string()> tar;
  std::string message;
};

class HostileLayer : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileLayer, IsRefusedAndWritesNothingOutside) {
  TempDir outer;
  const std::string root = outer.Sub("layer");
  std::filesystem::create_directories(root);
  std::filesystem::create_directories(outer.Sub("outside"));
  std::ofstream(outer.Sub("secret")) << "do not touch";
  absl::StatusOr<UnpackResult> r = Unpack(GetParam().tar(), root);
  ASSERT_FALSE(r.ok()) << GetParam().name;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(GetParam().message));
  // Nothing landed next to the layer root, and the file beside it is intact.
  EXPECT_TRUE(std::filesystem::is_empty(outer.Sub("outside")));
  EXPECT_EQ(testing::ReadFile(outer.Sub("secret")), "do not touch");
  EXPECT_FALSE(std::filesystem::exists(outer.Sub("evil")));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HostileLayer,
    ::testing::Values(
        HostileCase{"DotDot", [] { return TarBuilder().File("../evil", "x").Finish(); },
                    "contains \"..\""},
        HostileCase{"NestedDotDot", [] { return TarBuilder().File("a/../../evil", "x").Finish(); },
                    "contains \"..\""},
        HostileCase{
            "WriteThroughSymlinkToParent",
            [] {
              return TarBuilder().Symlink("escape", "../outside").File("escape/evil", "x").Finish();
            },
            "through the symlink \"escape\""},
        HostileCase{
            "WriteThroughAbsoluteSymlink",
            [] { return TarBuilder().Symlink("etc", "/etc").File("etc/evil", "x").Finish(); },
            "through the symlink \"etc\""},
        HostileCase{"HardlinkToOutside",
                    [] { return TarBuilder().Hardlink("stolen", "../secret").Finish(); },
                    "hardlink to \"../secret\" outside the layer root"},
        HostileCase{"HardlinkToAbsolute",
                    [] { return TarBuilder().Hardlink("shadow", "/etc/shadow").Finish(); },
                    "which this layer does not contain"},
        HostileCase{
            "HardlinkThroughSymlink",
            [] {
              return TarBuilder().Symlink("up", "..").Hardlink("stolen", "up/secret").Finish();
            },
            "through the symlink \"up\""},
        HostileCase{
            "WhiteoutThroughSymlink",
            [] { return TarBuilder().Symlink("up", "..").File("up/.wh.secret", "").Finish(); },
            "through the symlink \"up\""},
        // A directory the unpack has already checked and written into, then replaced by a link:
        // what was known of it is forgotten, and the next write through it is refused.
        HostileCase{"DirectoryReplacedBySymlink",
                    [] {
                      return TarBuilder()
                          .Dir("a")
                          .File("a/first", "x")
                          .Symlink("a", "../outside")
                          .File("a/evil", "x")
                          .Finish();
                    },
                    "through the symlink \"a\""},
        HostileCase{"NestedDirectoryReplacedBySymlink",
                    [] {
                      return TarBuilder()
                          .File("a/b/first", "x")
                          .Symlink("a", "..")
                          .File("a/b/evil", "x")
                          .Finish();
                    },
                    "through the symlink \"a\""},
        HostileCase{"NotATar", [] { return std::string(2048, 'x'); }, "tar"}),
    [](const ::testing::TestParamInfo<HostileCase>& info) { return info.param.name; });

// umoci writes "/" as the first entry of every layer and absolute names after it; other tools
// write "./" prefixes. All are relative to the layer root, as containerd takes them.
TEST(LayerUnpacker, AbsoluteAndDotPrefixedNamesAreRelativeToTheLayerRoot) {
  TempDir outer;
  const std::string root = outer.Sub("layer");
  std::filesystem::create_directories(root);
  const std::string tar = TarBuilder()
                              .Dir("/", 0755)
                              .Dir("/etc", 0755)
                              .File("/etc/os-release", "ID=test\n", 0644)
                              .File("./etc/hostname", "box\n", 0644)
                              .File("/tmp/../var/note", "inside\n", 0644)
                              .Hardlink("/etc/os-release.link", "/etc/os-release")
                              .Finish();
  absl::StatusOr<UnpackResult> r = Unpack(tar, root);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFile(root + "/etc/os-release"), "ID=test\n");
  EXPECT_EQ(testing::ReadFile(root + "/etc/hostname"), "box\n");
  EXPECT_EQ(testing::ReadFile(root + "/var/note"), "inside\n");
  EXPECT_EQ(testing::ReadFile(root + "/etc/os-release.link"), "ID=test\n");
  struct stat a, b;
  ASSERT_EQ(::stat((root + "/etc/os-release").c_str(), &a), 0);
  ASSERT_EQ(::stat((root + "/etc/os-release.link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  // Nothing beside the layer root: the absolute names did not reach the host's /etc or /tmp.
  std::vector<std::string> beside;
  for (const auto& e : std::filesystem::directory_iterator(outer.path())) {
    beside.push_back(e.path().filename().string());
  }
  EXPECT_EQ(beside, std::vector<std::string>{"layer"});
}

// libarchive sets a directory's mode and times only at the end, by path: a layer that makes
// "a/ssl" (0777) and then turns "a" into a link to outside must not chmod or re-time the
// outside directory of that name.
TEST(LayerUnpacker, ADirectorysModeAndTimesNeverReachThroughALaterSymlink) {
  TempDir outer;
  const std::string root = outer.Sub("layer");
  std::filesystem::create_directories(root);
  std::filesystem::create_directories(outer.Sub("outside/ssl"));
  ::chmod(outer.Sub("outside/ssl").c_str(), 0700);
  struct stat before;
  ASSERT_EQ(::stat(outer.Sub("outside/ssl").c_str(), &before), 0);
  const std::string tar = TarBuilder()
                              .Dir("a")
                              .Dir("a/ssl", 0777)
                              .Dir("kept", 0750)
                              .Symlink("a", "../outside")
                              .Finish();
  ASSERT_TRUE(Unpack(tar, root).ok());
  struct stat after;
  ASSERT_EQ(::stat(outer.Sub("outside/ssl").c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0700u);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  // The layer's own directories still get the entry's mode.
  struct stat kept;
  ASSERT_EQ(::lstat((root + "/kept").c_str(), &kept), 0);
  EXPECT_EQ(kept.st_mode & 07777, 0750u);
}

TEST(LayerUnpacker, ReplacingASymlinkWithAFileDoesNotFollowIt) {
  TempDir outer;
  const std::string root = outer.Sub("layer");
  std::filesystem::create_directories(root);
  std::ofstream(outer.Sub("target")) << "original";
  const std::string tar =
      TarBuilder().Symlink("link", "../target").File("link", "replaced").Finish();
  ASSERT_TRUE(Unpack(tar, root).ok());
  EXPECT_EQ(testing::ReadFile(outer.Sub("target")), "original");
  EXPECT_EQ(testing::ReadFile(root + "/link"), "replaced");
  EXPECT_FALSE(std::filesystem::is_symlink(root + "/link"));
}

TEST(LayerUnpacker, TarBombIsRefusedAtTheCap) {
  TempDir dir;
  UnpackOptions o = Unprivileged();
  o.max_bytes = 64 * 1024;
  absl::StatusOr<UnpackResult> r =
      Unpack(TarBuilder().File("zeros", std::string(1 << 20, '\0')).Finish(), dir.path(), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  o.max_bytes = 64ull << 20;
  o.max_entries = 3;
  r = Unpack(TarBuilder().File("1", "").File("2", "").File("3", "").File("4", "").Finish(),
             dir.path(), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
}

TEST(LayerUnpacker, AppliedWhiteoutsDeleteWhatTheyHide) {
  TempDir dir;
  ASSERT_TRUE(
      Unpack(TarBuilder().File("keep", "k").File("gone", "g").File("opaque/old", "o").Finish(),
             dir.path())
          .ok());
  ASSERT_TRUE(Unpack(TarBuilder()
                         .File(".wh.gone", "")
                         .Dir("opaque")
                         .File("opaque/.wh..wh..opq", "")
                         .File("opaque/new", "n")
                         .Finish(),
                     dir.path())
                  .ok());
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("keep")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("gone")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("opaque/old")));
  EXPECT_EQ(testing::ReadFile(dir.Sub("opaque/new")), "n");
}

TEST(LayerUnpacker, MarkerWhiteoutsStayAsEmptyFilesAndAreNeverFollowed) {
  TempDir outer;
  const std::string root = outer.Sub("layer");
  std::filesystem::create_directories(root);
  std::ofstream(outer.Sub("target")) << "original";
  UnpackOptions o = Unprivileged();
  o.whiteouts = WhiteoutMode::kMarkers;
  // A hostile layer sends a marker's name as a symlink to outside, and an entry the whiteout
  // hides in the same layer: every ".wh." name is a marker, never a link, and hides that entry.
  const std::string tar = TarBuilder()
                              .File("gone", "in this layer")
                              .Symlink(".wh.gone", "../target")
                              .File(".wh.gone", "")
                              .Dir("opaque")
                              .File("opaque/.wh..wh..opq", "")
                              .File("opaque/new", "n")
                              .Finish();
  ASSERT_TRUE(Unpack(tar, root, o).ok());
  EXPECT_EQ(testing::ReadFile(outer.Sub("target")), "original");
  EXPECT_FALSE(std::filesystem::exists(root + "/gone"));
  for (const char* marker : {"/.wh.gone", "/opaque/.wh..wh..opq"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(root + marker)))
        << marker;
    EXPECT_EQ(std::filesystem::file_size(root + marker), 0u) << marker;
  }
  EXPECT_EQ(testing::ReadFile(root + "/opaque/new"), "n");
}

TEST(LayerUnpacker, DeviceNodesAreSkippedWhenNotAllowed) {
  TempDir dir;
  absl::StatusOr<UnpackResult> r =
      Unpack(TarBuilder().CharDevice("dev/null", 1, 3).File("f", "x").Finish(), dir.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->skipped_devices, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("dev/null")));
}

}  // namespace
}  // namespace stockade
