// Gives back the memory that start-up needed and idling does not: the pages of code and
// read-only data that static initialisers and one-time set-up touched (about 19 MiB of
// gRPC, protobuf and RocksDB here), and free heap. Pages needed later fault back in from the
// page cache. Called once, after the daemon is serving.
#pragma once

namespace stockade {

// Best effort: returns the number of bytes the process's resident set shrank by (0 where the
// OS offers no such call).
long ReleaseStartupMemory();

}  // namespace stockade
