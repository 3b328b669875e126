#include "runtime/resolv_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace stockade {
namespace {

bool HasSpace(const std::string& s) {
  return s.empty() || std::any_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isspace(c) || absl::ascii_iscntrl(c) || c == '#' || c == ';';
         });
}

}  // namespace

absl::StatusOr<std::string> BuildResolvConf(const DnsSettings& dns, const std::string& node_file) {
  if (dns.empty()) return node_file;
  for (const std::string& server : dns.servers) {
    unsigned char buf[16];
    if (::inet_pton(AF_INET, server.c_str(), buf) != 1 &&
        ::inet_pton(AF_INET6, server.c_str(), buf) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("DNS server \"", server, "\" is not an IPv4 or IPv6 address"));
    }
  }
  for (const auto* list : {&dns.searches, &dns.options}) {
    for (const std::string& item : *list) {
      if (HasSpace(item)) {
        return absl::InvalidArgumentError(
            absl::StrCat("DNS search domain or option \"", item,
                         "\" is empty or has blanks, control characters or comments"));
      }
    }
  }
  std::string out;
  if (!dns.searches.empty())
    absl::StrAppend(&out, "search ", absl::StrJoin(dns.searches, " "), "\n");
  for (const std::string& server : dns.servers) absl::StrAppend(&out, "nameserver ", server, "\n");
  if (!dns.options.empty())
    absl::StrAppend(&out, "options ", absl::StrJoin(dns.options, " "), "\n");
  return out;
}

}  // namespace stockade
