#include "imagestore/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/remove_tree.h"
#include "common/writeback.h"

namespace stockade {
namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write blob");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, absl::StrCat("open ", dir));
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(rng());
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::Open(const std::string& root) {
  std::error_code ec;
  for (const std::string& dir : {root + "/blobs/sha256", root + "/ingest"}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return ErrnoError(ec.value(), absl::StrCat("create ", dir));
  }
  // Whatever is in ingest/ was being written when the daemon stopped: never published.
  RemoveEntriesStartingWith(root + "/ingest", "");
  return std::unique_ptr<ContentStore>(new ContentStore(root, ""));
}

absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::Attach(const std::string& root,
                                                                   const std::string& temp_tag) {
  struct stat st;
  const std::string ingest = root + "/ingest";
  if (::stat(ingest.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no content store at ", root, " (", ingest, " is missing)"));
  }
  return std::unique_ptr<ContentStore>(
      new ContentStore(root, temp_tag.empty() ? "" : absl::StrCat(temp_tag, ".")));
}

void ContentStore::RemoveTemps(const std::string& root, const std::string& temp_tag) {
  if (temp_tag.empty()) return;
  const std::string ingest = root + "/ingest";
  RemoveEntriesStartingWith(ingest, absl::StrCat(temp_tag, "."));
  // A writer that died held its locks until then; those nobody holds now are removed.
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(ingest, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (absl::StartsWith(it->path().filename().string(), "lock-")) {
      FileLock::RemoveIfFree(it->path().string());
    }
  }
}

ContentStore::Writer::Writer(const ContentStore& store, Digest expected, int64_t expected_size,
                             std::string temp, UniqueFd fd)
    : store_(store),
      expected_(std::move(expected)),
      expected_size_(expected_size),
      temp_path_(std::move(temp)),
      fd_(std::move(fd)) {}

ContentStore::Writer::~Writer() {
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status ContentStore::Writer::Write(const char* data, size_t size) {
  if (expected_size_ >= 0 && written_ + static_cast<int64_t>(size) > expected_size_) {
    return absl::DataLossError(absl::StrCat("blob ", expected_.String(), " is larger than the ",
                                            expected_size_, " bytes its descriptor announces"));
  }
  hash_.Update(data, size);
  if (absl::Status s = WriteAll(fd_.get(), data, size); !s.ok()) return s;
  const int64_t before = written_;
  written_ += static_cast<int64_t>(size);
  // Every 8 MiB, start writing back what came in, so Commit's fsync has little left to do.
  constexpr int64_t kWritebackChunk = 8 << 20;
  if (written_ / kWritebackChunk != before / kWritebackChunk) {
    const int64_t end = (written_ / kWritebackChunk) * kWritebackChunk;
    StartWriteback(fd_.get(), end - kWritebackChunk, kWritebackChunk);
  }
  return absl::OkStatus();
}

absl::Status ContentStore::Writer::Commit() {
  if (expected_size_ >= 0 && written_ != expected_size_) {
    return absl::DataLossError(absl::StrCat("blob ", expected_.String(), " is truncated: got ",
                                            written_, " of ", expected_size_, " bytes"));
  }
  const Digest actual = hash_.Finish();
  if (actual != expected_) {
    return absl::DataLossError(absl::StrCat("blob ", expected_.String(),
                                            " failed verification: its content has digest ",
                                            actual.String()));
  }
  if (::fsync(fd_.get()) != 0) return ErrnoError(errno, absl::StrCat("fsync ", temp_path_));
  fd_.Reset();
  const std::string final_path = store_.BlobPath(expected_);
  if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("publish blob ", final_path));
  }
  committed_ = true;
  return FsyncDir(store_.root_ + "/blobs/sha256");
}

absl::StatusOr<std::unique_ptr<ContentStore::Writer>> ContentStore::NewWriter(
    const Digest& expected, int64_t expected_size) {
  std::string temp =
      absl::StrCat(root_, "/ingest/", temp_prefix_, expected.hex(), ".", RandomSuffix());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return ErrnoError(errno, absl::StrCat("create ", temp));
  return std::unique_ptr<Writer>(
      new Writer(*this, expected, expected_size, std::move(temp), std::move(fd)));
}

absl::StatusOr<FileLock> ContentStore::LockTransfer(absl::string_view kind,
                                                    const Digest& digest) const {
  // In ingest/, which Open empties: a crash never leaves a lock file for good.
  return FileLock::Acquire(absl::StrCat(root_, "/ingest/lock-", kind, "-", digest.hex()));
}

bool ContentStore::Has(const Digest& digest) const {
  struct stat st;
  return ::stat(BlobPath(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ContentStore::BlobPath(const Digest& digest) const {
  return absl::StrCat(root_, "/blobs/sha256/", digest.hex());
}

absl::StatusOr<std::string> ContentStore::ReadBlob(const Digest& digest, int64_t max_bytes) const {
  const std::string path = BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return absl::NotFoundError(
          absl::StrCat("blob ", digest.String(), " is not in the content store"));
    return ErrnoError(errno, absl::StrCat("open ", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", path));
  if (st.st_size > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("blob ", digest.String(), " is ", st.st_size,
                                                     " bytes, over the limit of ", max_bytes));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(n < 0 ? errno : EIO, absl::StrCat("read ", path));
    done += static_cast<size_t>(n);
  }
  return data;
}

absl::Status ContentStore::Delete(const Digest& digest) {
  if (::unlink(BlobPath(digest).c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove blob ", digest.String()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Digest>> ContentStore::List() const {
  return ListDigestNamedEntries(root_ + "/blobs/sha256");
}

}  // namespace stockade
