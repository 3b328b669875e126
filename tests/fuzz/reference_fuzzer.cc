// Image references from PullImage requests: any input either fails cleanly or normalises to a
// form that parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "imagestore/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<stockade::ImageReference> ref = stockade::ParseImageReference(input);
  if (!ref.ok()) return 0;
  absl::StatusOr<stockade::ImageReference> again = stockade::ParseImageReference(ref->String());
  if (!again.ok() || again->String() != ref->String()) std::abort();
  return 0;
}
