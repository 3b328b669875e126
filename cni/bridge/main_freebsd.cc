// stockade-bridge on FreeBSD: the same CNI commands as on Linux, applied to a VNET jail
// (CNI_NETNS is the jail's name) with if_bridge, epair and pf anchors. The plans come from
// cni/bridge/freebsd_plan.cc (unit-tested on every OS); this file runs them with ifconfig(8),
// jexec(8), route(8) and pfctl(8). FreeBSD only.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cni/bridge/bridge_plan.h"
#include "cni/bridge/freebsd_plan.h"
#include "cni/bridge/ipam.h"
#include "common/run_command.h"

namespace stockade::bridge {
namespace {

struct Output {
  int status = -1;
  std::string out;
};

// Runs argv (looked up in PATH) with `input` on stdin; its exit status (-1: it could not be
// run) and stdout.
Output Run(const Command& argv, const std::string& input = "") {
  absl::StatusOr<CommandResult> r = RunCommand(argv, input);
  if (!r.ok()) return {};
  return {r->exit_code, std::move(r->out)};
}

absl::Status RunAll(const std::vector<Command>& plan) {
  for (const Command& c : plan) {
    if (Run(c).status != 0) {
      return absl::FailedPreconditionError(absl::StrCat("\"", absl::StrJoin(c, " "), "\" failed"));
    }
  }
  return absl::OkStatus();
}

// The interface of the default route: where outbound NAT goes.
std::string EgressInterface() {
  std::istringstream lines(Run({"route", "-n", "get", "default"}).out);
  std::string line;
  while (std::getline(lines, line)) {
    absl::string_view v = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&v, "interface:")) return std::string(absl::StripAsciiWhitespace(v));
  }
  return "";
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

int Fail(const std::string& version, int code, const absl::Status& s) {
  std::cout << ErrorJson(version, code, std::string(s.message())) << "\n";
  return 1;
}

int Main() {
  const std::string command = Env("CNI_COMMAND"), container = Env("CNI_CONTAINERID"),
                    jail = Env("CNI_NETNS"), ifname = Env("CNI_IFNAME");
  std::stringstream input;
  input << std::cin.rdbuf();
  if (command == "VERSION") {
    std::cout << R"({"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]})"
              << "\n";
    return 0;
  }
  absl::StatusOr<BridgeConfig> config = ParseBridgeConfig(input.str());
  if (!config.ok()) return Fail("1.0.0", 7, config.status());
  if (container.empty() || ifname.empty()) {
    return Fail(config->cni_version, 4,
                absl::InvalidArgumentError("CNI_CONTAINERID and CNI_IFNAME are required"));
  }
  absl::StatusOr<AddressAllocator> ipam = AddressAllocator::Lock(config->data_dir, config->name);
  if (!ipam.ok()) return Fail(config->cni_version, 100, ipam.status());
  const std::string anchor = PfAnchorName(container);
  if (command == "DEL") {
    RunAll(PlanFreeBsdDetach(container, ifname)).IgnoreError();  // gone already: fine
    Run({"pfctl", "-a", anchor, "-F", "all"});
    if (absl::Status s = ipam->Release(container, ifname); !s.ok()) {
      return Fail(config->cni_version, 100, s);
    }
    return 0;
  }
  if (command == "CHECK") {
    if (ipam->Held(container, ifname).empty() ||
        Run({"ifconfig", EpairHostName(container, ifname)}).status != 0) {
      return Fail(config->cni_version, 100,
                  absl::FailedPreconditionError("the pod's epair or address is missing"));
    }
    return 0;
  }
  if (command != "ADD" || jail.empty()) {
    return Fail(config->cni_version, 4, absl::InvalidArgumentError("bad CNI_COMMAND or CNI_NETNS"));
  }
  std::string address;
  int prefix = 0;
  std::string gateway;
  for (const AddressRange& r : config->ranges) {
    if (r.v6()) continue;
    absl::StatusOr<std::string> a = ipam->Allocate(r, container, ifname);
    if (!a.ok())
      return Fail(config->cni_version, absl::IsResourceExhausted(a.status()) ? 101 : 100,
                  a.status());
    address = *a;
    prefix = PrefixLength(r.subnet);
    gateway = r.gateway;
  }
  auto undo = [&](const absl::Status& s) {
    RunAll(PlanFreeBsdDetach(container, ifname)).IgnoreError();
    Run({"pfctl", "-a", anchor, "-F", "all"});
    ipam->Release(container, ifname).IgnoreError();
    return Fail(config->cni_version, 100, s);
  };
  if (Run({"ifconfig", config->bridge}).status != 0) {
    if (absl::Status s = RunAll(PlanFreeBsdBridge(*config)); !s.ok()) return undo(s);
  }
  if (Run({"ifconfig", EpairHostName(container, ifname)}).status != 0) {
    const std::string epair(absl::StripAsciiWhitespace(Run({"ifconfig", "epair", "create"}).out));
    if (!absl::StartsWith(epair, "epair")) {
      return undo(absl::FailedPreconditionError("ifconfig epair create failed"));
    }
    if (absl::Status s =
            RunAll(PlanFreeBsdAttach(*config, {jail, container, ifname, epair, address}));
        !s.ok()) {
      return undo(s);
    }
  }
  const std::string rules = PfAnchorRules(*config, address, EgressInterface());
  if (!rules.empty() && Run({"pfctl", "-a", anchor, "-f", "-"}, rules).status != 0) {
    return undo(absl::FailedPreconditionError("pfctl refused the rules of " + anchor));
  }
  std::cout << ResultJson(config->cni_version,
                          {{config->bridge, "", ""},
                           {EpairHostName(container, ifname), "", ""},
                           {ifname, "", jail}},
                          {{absl::StrCat(address, "/", prefix), gateway, 2}})
            << "\n";
  return 0;
}

}  // namespace
}  // namespace stockade::bridge

int main() {
  ::signal(SIGPIPE, SIG_IGN);  // pfctl may exit before reading all of its rules
  return stockade::bridge::Main();
}
