// Compiled on FreeBSD only (selected by CMake). FreeBSD's page daemon reclaims clean pages of
// an idle process on its own; there is no per-process page-out call to make here.
#include "common/startup_memory.h"

namespace stockade {

long ReleaseStartupMemory() { return 0; }

}  // namespace stockade
