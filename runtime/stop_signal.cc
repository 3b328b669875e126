#include "runtime/stop_signal.h"

#include <signal.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace stockade {
namespace {

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},         {"SYS", SIGSYS},
#if defined(__linux__)
    {"STKFLT", SIGSTKFLT}, {"POLL", SIGPOLL},     {"PWR", SIGPWR},
#endif
#if defined(__FreeBSD__)
    {"EMT", SIGEMT},       {"INFO", SIGINFO},     {"THR", SIGTHR},
#endif
};

}  // namespace

absl::StatusOr<int> ParseStopSignal(const std::string& name) {
  if (name.empty()) return SIGTERM;
  const std::string upper = absl::AsciiStrToUpper(name);
  absl::string_view n = absl::StripPrefix(upper, "SIG");
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("stop signal \"", name, "\" is not a signal: ", why));
  };
  int number = 0;
  if (absl::SimpleAtoi(n, &number)) {
    if (number < 1 || number > SIGRTMAX) {
      return bad(absl::StrCat("signal numbers go from 1 to ", SIGRTMAX));
    }
    return number;
  }
  for (const auto& [signal_name, value] : kSignals) {
    if (n == signal_name) return value;
  }
  for (absl::string_view base : {"RTMIN", "RTMAX"}) {
    if (!absl::ConsumePrefix(&n, base)) continue;
    const int anchor = base == "RTMIN" ? SIGRTMIN : SIGRTMAX;
    if (n.empty()) return anchor;
    int offset = 0;
    const bool plus = absl::ConsumePrefix(&n, "+");
    if (!plus && !absl::ConsumePrefix(&n, "-")) break;
    if (!absl::SimpleAtoi(n, &offset) || offset < 0) break;
    const int value = plus ? anchor + offset : anchor - offset;
    if (value < SIGRTMIN || value > SIGRTMAX) return bad("outside SIGRTMIN..SIGRTMAX");
    return value;
  }
  return bad("no such signal name (e.g. SIGTERM, SIGINT, SIGQUIT, SIGUSR1, or a number)");
}

}  // namespace stockade
