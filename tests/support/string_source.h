// A ByteSource over an in-memory string, handing out small chunks to exercise streaming.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "imagestore/byte_source.h"

namespace stockade::testing {

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk = 4096)
      : data_(std::move(data)), chunk_(chunk) {}
  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    const size_t n = std::min({size, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

}  // namespace stockade::testing
