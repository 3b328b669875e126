#include "imagestore/layer_store.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/remove_tree.h"

namespace stockade {

absl::StatusOr<std::unique_ptr<LayerStore>> LayerStore::Open(const std::string& root) {
  std::error_code ec;
  std::filesystem::create_directories(root + "/sha256", ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("create ", root, "/sha256"));
  RemoveEntriesStartingWith(root, "tmp-");
  return std::unique_ptr<LayerStore>(new LayerStore(root, "tmp-"));
}

absl::StatusOr<std::unique_ptr<LayerStore>> LayerStore::Attach(const std::string& root,
                                                               const std::string& temp_tag) {
  struct stat st;
  const std::string layers = root + "/sha256";
  if (::stat(layers.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no layer store at ", root, " (", layers, " is missing)"));
  }
  return std::unique_ptr<LayerStore>(
      new LayerStore(root, temp_tag.empty() ? "tmp-" : absl::StrCat("tmp-", temp_tag, "-")));
}

void LayerStore::RemoveTemps(const std::string& root, const std::string& temp_tag) {
  if (!temp_tag.empty()) RemoveEntriesStartingWith(root, absl::StrCat("tmp-", temp_tag, "-"));
}

std::string LayerStore::LayerPath(const Digest& diff_id) const {
  return absl::StrCat(root_, "/sha256/", diff_id.hex());
}

bool LayerStore::Has(const Digest& diff_id) const {
  struct stat st;
  return ::stat(LayerPath(diff_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::Status LayerStore::Remove(const Digest& diff_id) {
  // Rename first so that a crash mid-removal leaves a tmp- dir (cleaned at open), never a
  // half-deleted layer under its real name.
  absl::StatusOr<std::string> temp = NewTempDir();
  if (!temp.ok()) return temp.status();
  RemoveTreeQuietly(*temp);
  if (::rename(LayerPath(diff_id).c_str(), temp->c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(errno, absl::StrCat("remove layer ", diff_id.String()));
  }
  RemoveTreeQuietly(*temp);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Digest>> LayerStore::List() const {
  return ListDigestNamedEntries(root_ + "/sha256");
}

absl::StatusOr<std::string> LayerStore::NewTempDir() const {
  std::string pattern = absl::StrCat(root_, "/", temp_prefix_, "XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError(errno, absl::StrCat("create a temp dir in ", root_));
  }
  // The layer root is the container's "/": world-readable like any root directory.
  ::chmod(pattern.c_str(), 0755);
  return pattern;
}

absl::Status LayerStore::Publish(const std::string& temp_dir, const Digest& diff_id) const {
  const std::string final_path = LayerPath(diff_id);
  if (::rename(temp_dir.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {  // another pull published it first
      RemoveTreeQuietly(temp_dir);
      return absl::OkStatus();
    }
    return ErrnoError(errno, absl::StrCat("publish layer ", final_path));
  }
  return absl::OkStatus();
}

}  // namespace stockade
