#include "runtime/seccomp_profile.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

using Json = nlohmann::json;

constexpr std::pair<absl::string_view, SeccompAction> kActions[] = {
    {"SCMP_ACT_KILL", SeccompAction::kKillThread},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
    {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
    {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
    {"SCMP_ACT_LOG", SeccompAction::kLog},
};

constexpr std::pair<absl::string_view, SeccompCompare> kCompares[] = {
    {"SCMP_CMP_NE", SeccompCompare::kNe},
    {"SCMP_CMP_LT", SeccompCompare::kLt},
    {"SCMP_CMP_LE", SeccompCompare::kLe},
    {"SCMP_CMP_EQ", SeccompCompare::kEq},
    {"SCMP_CMP_GE", SeccompCompare::kGe},
    {"SCMP_CMP_GT", SeccompCompare::kGt},
    {"SCMP_CMP_MASKED_EQ", SeccompCompare::kMaskedEq},
};

constexpr absl::string_view kFlags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

absl::StatusOr<SeccompAction> Action(const Json& j, absl::string_view where) {
  if (!j.is_string()) return absl::InvalidArgumentError(absl::StrCat(where, " must be a string"));
  const std::string name = j.get<std::string>();
  for (const auto& [n, a] : kActions) {
    if (n == name) return a;
  }
  if (name == "SCMP_ACT_NOTIFY") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " SCMP_ACT_NOTIFY needs a seccomp agent, which stockade has not"));
  }
  return absl::InvalidArgumentError(absl::StrCat(where, " \"", name, "\" is no seccomp action"));
}

absl::StatusOr<std::vector<std::string>> Strings(const Json& parent, const char* key,
                                                 absl::string_view where) {
  std::vector<std::string> out;
  if (!parent.contains(key) || parent[key].is_null()) return out;
  const Json& list = parent[key];
  if (!list.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, key, " must be a list of strings"));
  }
  for (const Json& s : list) {
    if (!s.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, key, " must be a list of strings"));
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

absl::StatusOr<int> Errno(const Json& parent, const char* key, absl::string_view where) {
  if (!parent.contains(key) || parent[key].is_null()) return 1;  // EPERM
  const Json& v = parent[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() > 4095) {
    return absl::InvalidArgumentError(absl::StrCat(where, key, " must be an errno (0-4095)"));
  }
  return static_cast<int>(v.get<uint64_t>());
}

absl::StatusOr<SeccompRule> Rule(const Json& j, size_t i) {
  const std::string where = absl::StrCat("syscalls[", i, "].");
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, " must be an object"));
  SeccompRule rule;
  absl::StatusOr<std::vector<std::string>> names = Strings(j, "names", where);
  if (!names.ok()) return names.status();
  rule.names = *std::move(names);
  if (j.contains("name") && j["name"].is_string()) rule.names.push_back(j["name"]);
  if (rule.names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "names must list system calls"));
  }
  absl::StatusOr<SeccompAction> action = Action(j.value("action", Json()), where + "action");
  if (!action.ok()) return action.status();
  rule.action = *action;
  absl::StatusOr<int> e = Errno(j, "errnoRet", where);
  if (!e.ok()) return e.status();
  rule.errno_ret = *e;
  if (j.contains("args") && !j["args"].is_null()) {
    if (!j["args"].is_array()) return absl::InvalidArgumentError(where + "args must be a list");
    for (const Json& a : j["args"]) {
      SeccompArg arg;
      if (!a.is_object() || !a.value("index", Json()).is_number_unsigned() ||
          a["index"].get<uint64_t>() > 5) {
        return absl::InvalidArgumentError(where + "args[].index must be 0 to 5");
      }
      arg.index = a["index"].get<unsigned>();
      for (const auto& [key, field] :
           {std::pair{"value", &arg.value}, {"valueTwo", &arg.value_two}}) {
        if (!a.contains(key)) continue;
        if (!a[key].is_number_unsigned()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "args[].", key, " must be a number"));
        }
        *field = a[key].get<uint64_t>();
      }
      const std::string op = a.value("op", "");
      bool known = false;
      for (const auto& [n, c] : kCompares) {
        if (n == op) {
          arg.op = c;
          known = true;
        }
      }
      if (!known) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "args[].op \"", op, "\" is no operator"));
      }
      rule.args.push_back(arg);
    }
  }
  for (const auto& [key, caps, arches] :
       {std::tuple{"includes", &rule.include_caps, &rule.include_arches},
        std::tuple{"excludes", &rule.exclude_caps, &rule.exclude_arches}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_object())
      return absl::InvalidArgumentError(absl::StrCat(where, key, " must be an object"));
    absl::StatusOr<std::vector<std::string>> c =
        Strings(j[key], "caps", absl::StrCat(where, key, "."));
    if (!c.ok()) return c.status();
    *caps = *std::move(c);
    absl::StatusOr<std::vector<std::string>> a =
        Strings(j[key], "arches", absl::StrCat(where, key, "."));
    if (!a.ok()) return a.status();
    *arches = *std::move(a);
  }
  return rule;
}

absl::StatusOr<SeccompProfile> ParseUnchecked(absl::string_view text) {
  const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("it is not JSON");
  if (!doc.is_object()) return absl::InvalidArgumentError("it is not a JSON object");
  SeccompProfile p;
  absl::StatusOr<SeccompAction> d = Action(doc.value("defaultAction", Json()), "defaultAction");
  if (!d.ok()) return d.status();
  p.default_action = *d;
  absl::StatusOr<int> e = Errno(doc, "defaultErrnoRet", "");
  if (!e.ok()) return e.status();
  p.default_errno = *e;
  absl::StatusOr<std::vector<std::string>> arches = Strings(doc, "architectures", "");
  if (!arches.ok()) return arches.status();
  p.architectures = *std::move(arches);
  if (doc.contains("archMap") && doc["archMap"].is_array()) {
    for (const Json& m : doc["archMap"]) {
      if (!m.is_object() || !m.value("architecture", Json()).is_string()) {
        return absl::InvalidArgumentError("archMap[].architecture must be a string");
      }
      p.architectures.push_back(m["architecture"]);
      absl::StatusOr<std::vector<std::string>> sub = Strings(m, "subArchitectures", "archMap[].");
      if (!sub.ok()) return sub.status();
      p.architectures.insert(p.architectures.end(), sub->begin(), sub->end());
    }
  }
  absl::StatusOr<std::vector<std::string>> flags = Strings(doc, "flags", "");
  if (!flags.ok()) return flags.status();
  for (const std::string& f : *flags) {
    if (std::find(std::begin(kFlags), std::end(kFlags), f) == std::end(kFlags)) {
      return absl::InvalidArgumentError(absl::StrCat("flags: \"", f, "\" is no seccomp flag"));
    }
  }
  if (doc.contains("syscalls") && !doc["syscalls"].is_null()) {
    if (!doc["syscalls"].is_array()) return absl::InvalidArgumentError("syscalls must be a list");
    for (size_t i = 0; i < doc["syscalls"].size(); ++i) {
      absl::StatusOr<SeccompRule> r = Rule(doc["syscalls"][i], i);
      if (!r.ok()) return r.status();
      p.syscalls.push_back(*std::move(r));
    }
  }
  return p;
}

}  // namespace

absl::StatusOr<SeccompProfile> ParseSeccompProfile(absl::string_view json) {
  try {
    return ParseUnchecked(json);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("a field has the wrong type: ", e.what()));
  }
}

}  // namespace stockade
