// Pull-style byte streams: a layer flows from its source (a file in the content store, or the
// network) through a decompressor into the tar reader, without a second pass over the disk.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"
#include "imagestore/manifest.h"

namespace stockade {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `size` bytes into `buf`; 0 means the end of the stream.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t size) = 0;
  // The next bytes without a copy where the source can (an empty view is the end), valid
  // until the next call. The default reads into a buffer of the source's own.
  virtual absl::StatusOr<absl::string_view> ReadView();

 private:
  std::vector<char> view_buffer_;
};

class FdByteSource : public ByteSource {
 public:
  explicit FdByteSource(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t size) override;

 private:
  UniqueFd fd_;
};

// Wraps `compressed` so that reads return the decompressed bytes (gzip, zstd or none).
// Concatenated gzip members are read as one stream, as gzip -d does.
std::unique_ptr<ByteSource> MakeDecompressingSource(std::unique_ptr<ByteSource> compressed,
                                                    LayerCompression compression);

}  // namespace stockade
