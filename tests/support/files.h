// Small file helpers shared by the tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace stockade::testing {

// The whole file ("" if it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace stockade::testing
