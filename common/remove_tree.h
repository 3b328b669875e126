// Removing what a failed or finished step left on disk, where a failure to remove it is not
// the caller's error (temp dirs, leftovers of a crash).
#pragma once

#include <string>

namespace stockade {

// Removes `path` and everything below it; a path that is not there is fine.
void RemoveTreeQuietly(const std::string& path);

// Removes every entry of `dir` whose name starts with `prefix` (and what is below it).
void RemoveEntriesStartingWith(const std::string& dir, const std::string& prefix);

}  // namespace stockade
