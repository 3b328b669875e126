#include "imagestore/byte_source.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/common/errors.h"

namespace stockade {
namespace {

constexpr size_t kInputChunk = 256 * 1024;

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<ByteSource> in) : in_(std::move(in)), buf_(kInputChunk) {
    // 15 + 32: a gzip or zlib header, detected automatically.
    inflateInit2(&z_, 15 + 32);
  }
  ~GzipSource() override { inflateEnd(&z_); }

  absl::StatusOr<size_t> Read(char* out, size_t size) override {
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(size);
    while (z_.avail_out == size && !finished_) {
      if (z_.avail_in == 0) {
        absl::StatusOr<size_t> n = in_->Read(buf_.data(), buf_.size());
        if (!n.ok()) return n.status();
        if (*n == 0) {
          if (!member_ended_) {
            return absl::DataLossError("gzip stream ends early (truncated layer)");
          }
          finished_ = true;
          break;
        }
        z_.next_in = reinterpret_cast<Bytef*>(buf_.data());
        z_.avail_in = static_cast<uInt>(*n);
      }
      if (member_ended_) {
        // More input after a complete member: the next concatenated member.
        inflateReset(&z_);
        member_ended_ = false;
      }
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::DataLossError(
            absl::StrCat("layer is not valid gzip: ", z_.msg ? z_.msg : "inflate failed"));
      }
    }
    return size - z_.avail_out;
  }

 private:
  std::unique_ptr<ByteSource> in_;
  std::vector<char> buf_;
  z_stream z_{};
  bool member_ended_ = false;
  bool finished_ = false;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<ByteSource> in)
      : in_(std::move(in)), buf_(ZSTD_DStreamInSize()), ctx_(ZSTD_createDCtx()) {}
  ~ZstdSource() override { ZSTD_freeDCtx(ctx_); }

  absl::StatusOr<size_t> Read(char* out, size_t size) override {
    ZSTD_outBuffer output{out, size, 0};
    while (output.pos == 0 && !finished_) {
      if (input_.pos == input_.size) {
        absl::StatusOr<size_t> n = in_->Read(buf_.data(), buf_.size());
        if (!n.ok()) return n.status();
        if (*n == 0) {
          if (!frame_ended_) return absl::DataLossError("zstd stream ends early (truncated layer)");
          finished_ = true;
          break;
        }
        input_ = ZSTD_inBuffer{buf_.data(), *n, 0};
      }
      size_t rc = ZSTD_decompressStream(ctx_, &output, &input_);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(
            absl::StrCat("layer is not valid zstd: ", ZSTD_getErrorName(rc)));
      }
      frame_ended_ = rc == 0;
    }
    return output.pos;
  }

 private:
  std::unique_ptr<ByteSource> in_;
  std::vector<char> buf_;
  ZSTD_DCtx* ctx_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  bool frame_ended_ = true;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<size_t> FdByteSource::Read(char* buf, size_t size) {
  while (true) {
    ssize_t n = ::read(fd_.get(), buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError(errno, "read layer");
  }
}

std::unique_ptr<ByteSource> MakeDecompressingSource(std::unique_ptr<ByteSource> compressed,
                                                    LayerCompression compression) {
  switch (compression) {
    case LayerCompression::kGzip:
      return std::make_unique<GzipSource>(std::move(compressed));
    case LayerCompression::kZstd:
      return std::make_unique<ZstdSource>(std::move(compressed));
    case LayerCompression::kNone:
      break;
  }
  return compressed;
}

}  // namespace stockade
