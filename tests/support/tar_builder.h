// Builds tar streams in memory for unpacker tests, including hostile ones no sane tool makes.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace stockade::testing {

class TarBuilder {
 public:
  TarBuilder() : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarBuilder::WriteCb, nullptr);
  }
  ~TarBuilder() { archive_write_free(a_); }

  TarBuilder& File(const std::string& path, const std::string& content, int mode = 0644,
                   int uid = 0, int gid = 0) {
    archive_entry* e = New(path, AE_IFREG, mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_write_header(a_, e);
    archive_write_data(a_, content.data(), content.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Dir(const std::string& path, int mode = 0755) {
    archive_entry* e = New(path, AE_IFDIR, mode);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Symlink(const std::string& path, const std::string& target) {
    archive_entry* e = New(path, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target.c_str());
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Hardlink(const std::string& path, const std::string& target) {
    archive_entry* e = New(path, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& CharDevice(const std::string& path, int major, int minor) {
    archive_entry* e = New(path, AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Xattr(const std::string& path, const std::string& name, const std::string& value) {
    archive_entry* e = New(path, AE_IFREG, 0644);
    archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
    archive_entry_set_size(e, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }

  // The finished stream, with the two zero end blocks.
  std::string Finish() {
    archive_write_close(a_);
    return out_;
  }
  // The finished stream without its end-of-archive blocks, as some image tools write it.
  std::string FinishWithoutEndBlocks() {
    archive_write_close(a_);
    size_t end = out_.size();
    while (end >= 512 && out_.find_first_not_of('\0', end - 512) >= end) end -= 512;
    return out_.substr(0, end);
  }

 private:
  archive_entry* New(const std::string& path, int type, int mode) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    return e;
  }
  static la_ssize_t WriteCb(struct archive*, void* self, const void* buf, size_t n) {
    static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  struct archive* a_;
  std::string out_;
};

}  // namespace stockade::testing
