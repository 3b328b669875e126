// The shim's log writer and exit records on real temp files.
#include <fstream>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/shim/cri_log.h"
#include "runtime/shim/exit_record.h"
#include "tests/support/temp_dir.h"

namespace stockade {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

absl::Time Fixed() { return absl::FromUnixNanos(1700000000123456789); }

TEST(CriLog, TimeIsRfc3339WithNanoseconds) {
  EXPECT_EQ(FormatCriLogTime(Fixed()), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(FormatCriLogTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00.000000000Z");
}

TEST(CriLog, LinesBecomeFullEntriesAndLongOnesAreSplit) {
  testing::TempDir dir;
  auto file = CriLogFile::Open(dir.Sub("0.log"));
  ASSERT_TRUE(file.ok());
  CriLogStream out(**file, "stdout", /*max_line=*/8, Fixed);
  CriLogStream err(**file, "stderr", 8, Fixed);
  ASSERT_TRUE(out.Feed("hel").ok());
  ASSERT_TRUE(out.Feed("lo\nsecond line is long\n\n").ok());
  ASSERT_TRUE(err.Feed("oops\nno newline").ok());
  ASSERT_TRUE(err.Close().ok());
  const std::string t = "2023-11-14T22:13:20.123456789Z";
  EXPECT_THAT(Lines(dir.Sub("0.log")),
              ElementsAre(t + " stdout F hello", t + " stdout P second l", t + " stdout P ine is l",
                          t + " stdout F ong", t + " stdout F ", t + " stderr F oops",
                          t + " stderr P no newli", t + " stderr F ne"));
}

TEST(CriLog, ReopenStartsANewFileAfterRotation) {
  testing::TempDir dir;
  auto file = CriLogFile::Open(dir.Sub("0.log"));
  CriLogStream out(**file, "stdout", 1024, Fixed);
  ASSERT_TRUE(out.Feed("before\n").ok());
  ASSERT_EQ(::rename(dir.Sub("0.log").c_str(), dir.Sub("0.log.1").c_str()), 0);
  ASSERT_TRUE((*file)->Reopen().ok());
  ASSERT_TRUE(out.Feed("after\n").ok());
  EXPECT_EQ(Lines(dir.Sub("0.log.1")).size(), 1u);
  ASSERT_EQ(Lines(dir.Sub("0.log")).size(), 1u);
  EXPECT_THAT(Lines(dir.Sub("0.log"))[0], ::testing::EndsWith("stdout F after"));
}

TEST(CriLog, ConcurrentStreamsNeverInterleaveWithinAnEntry) {
  testing::TempDir dir;
  auto file = CriLogFile::Open(dir.Sub("0.log"));
  auto writer = [&](const char* name, char c) {
    CriLogStream s(**file, name, 1 << 20, Fixed);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(s.Feed(std::string(100, c) + "\n").ok());
  };
  std::thread a(writer, "stdout", 'a'), b(writer, "stderr", 'b');
  a.join();
  b.join();
  const std::vector<std::string> lines = Lines(dir.Sub("0.log"));
  ASSERT_EQ(lines.size(), 1000u);
  for (const std::string& l : lines) {
    const std::string body = l.substr(l.rfind(' ') + 1);
    EXPECT_TRUE(body == std::string(100, 'a') || body == std::string(100, 'b')) << l;
  }
}

TEST(ExitRecord, RoundTripsAndIsAllOrNothing) {
  testing::TempDir dir;
  const std::string path = dir.Sub("exit");
  EXPECT_TRUE(absl::IsNotFound(ReadExitRecord(path).status()));
  ExitRecord r{137, 9, true, 1700000000000000001};
  ASSERT_TRUE(WriteExitRecord(path, r).ok());
  absl::StatusOr<ExitRecord> back = ReadExitRecord(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, 9);
  EXPECT_TRUE(back->oom_killed);
  EXPECT_EQ(back->finished_at_unix_nano, 1700000000000000001);
  std::ofstream(path) << "exit_code=3\n";
  EXPECT_EQ(ReadExitRecord(path).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace stockade
