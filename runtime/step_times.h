// Where the milliseconds of one call went, step by step, for the debug log line each pod and
// container call ends with ("steps=record=0.21ms jail=3.40ms ..."): what bench/profile.sh
// aggregates into the profile in bench/README.md. A mark is one monotonic clock read.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace stockade {

class StepTimes {
 public:
  StepTimes() : last_(Clock::now()) {}
  // The time since the previous mark (or since construction) was spent on `step`.
  void Mark(const char* step) {
    const Clock::time_point now = Clock::now();
    steps_.emplace_back(step, std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }
  std::string Summary() const {
    std::string out;
    for (const auto& [step, ms] : steps_) {
      absl::StrAppendFormat(&out, "%s%s=%.3fms", out.empty() ? "" : " ", step, ms);
    }
    return out;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_;
  std::vector<std::pair<const char*, double>> steps_;
};

}  // namespace stockade
