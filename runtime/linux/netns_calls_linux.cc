#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "runtime/linux/netns_calls.h"

namespace stockade {
namespace {

// Runs `fn` on a thread of its own inside the namespace at `netns_path`.
template <typename T>
absl::StatusOr<T> InNetns(const std::string& netns_path,
                          const std::function<absl::StatusOr<T>()>& fn) {
  if (netns_path.empty()) return fn();
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) {
    return absl::NotFoundError(absl::StrCat("the pod's network namespace ", netns_path,
                                            " is gone: ", std::strerror(errno)));
  }
  absl::StatusOr<T> result = absl::InternalError("unset");
  std::thread worker([&] {
    // The thread ends right after: it never goes back to the daemon's namespace.
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      result = ErrnoError(errno, absl::StrCat("enter the network namespace ", netns_path));
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

absl::StatusOr<UniqueFd> Connect(int family, int port) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError(errno, "socket");
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  if (rc != 0) {
    return ErrnoError(errno,
                      absl::StrCat("dial ", family == AF_INET ? "127.0.0.1" : "[::1]", ":", port));
  }
  return fd;
}

}  // namespace

absl::StatusOr<UniqueFd> DialLoopbackInNetns(const std::string& netns_path, int port) {
  return InNetns<UniqueFd>(netns_path, [port]() -> absl::StatusOr<UniqueFd> {
    absl::StatusOr<UniqueFd> v4 = Connect(AF_INET, port);
    if (v4.ok()) return v4;
    absl::StatusOr<UniqueFd> v6 = Connect(AF_INET6, port);
    if (v6.ok()) return v6;
    return v4.status();
  });
}

std::vector<InterfaceCounters> ParseNetDev(absl::string_view text) {
  std::vector<InterfaceCounters> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // the two header lines
    InterfaceCounters c;
    c.name = std::string(absl::StripAsciiWhitespace(line.substr(0, colon)));
    if (c.name == "lo" || c.name.empty()) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(line.substr(colon + 1), ' ', absl::SkipWhitespace());
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs ...
    if (f.size() < 16) continue;
    uint64_t* const fields[] = {&c.rx_bytes, &c.rx_packets, &c.rx_errors, &c.rx_dropped,
                                &c.tx_bytes, &c.tx_packets, &c.tx_errors, &c.tx_dropped};
    const size_t columns[] = {0, 1, 2, 3, 8, 9, 10, 11};
    bool parsed = true;
    for (size_t i = 0; i < 8; ++i) parsed &= absl::SimpleAtoi(f[columns[i]], fields[i]);
    if (!parsed) continue;
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<InterfaceCounters>> InterfaceCountersInNetns(
    const std::string& netns_path) {
  return InNetns<std::vector<InterfaceCounters>>(
      netns_path, []() -> absl::StatusOr<std::vector<InterfaceCounters>> {
        std::ifstream in("/proc/thread-self/net/dev");
        if (!in) return ErrnoError(errno, "read /proc/thread-self/net/dev");
        std::stringstream text;
        text << in.rdbuf();
        return ParseNetDev(text.str());
      });
}

}  // namespace stockade
