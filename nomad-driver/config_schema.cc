#include "nomad-driver/config_schema.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace stockade::nomad {
namespace {

absl::Status BadAttr(absl::string_view what, absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", name, ": ", problem));
}

bool IsStringList(const CtyValue& v) {
  if (v.kind != CtyValue::Kind::kList) return false;
  for (const CtyValue& item : v.items) {
    if (item.kind != CtyValue::Kind::kString) return false;
  }
  return true;
}

bool IsStringMap(const CtyValue& v) {
  if (v.kind != CtyValue::Kind::kMap) return false;
  for (const CtyValue& item : v.items) {
    if (item.kind != CtyValue::Kind::kString) return false;
  }
  return true;
}

bool HasType(const CtyValue& v, AttrType type) {
  switch (type) {
    case AttrType::kString:
      return v.kind == CtyValue::Kind::kString;
    case AttrType::kBool:
      return v.kind == CtyValue::Kind::kBool;
    case AttrType::kNumber:
      return v.kind == CtyValue::Kind::kNumber;
    case AttrType::kListString:
      return IsStringList(v);
    case AttrType::kMapString:
      return IsStringMap(v);
    case AttrType::kListMapString:
      if (v.kind != CtyValue::Kind::kList) return false;
      for (const CtyValue& item : v.items) {
        if (!IsStringMap(item)) return false;
      }
      return true;
    case AttrType::kCredentialsBlock:
      // An object whose attributes are strings or null (unset).
      if (v.kind != CtyValue::Kind::kMap) return false;
      for (const CtyValue& item : v.items) {
        if (item.kind != CtyValue::Kind::kString && !item.is_null()) return false;
      }
      return true;
  }
  return false;
}

std::string StringOr(const CtyValue& object, absl::string_view key, std::string fallback) {
  const CtyValue* v = object.Find(key);
  return v != nullptr && v->kind == CtyValue::Kind::kString ? v->text : fallback;
}

bool BoolOr(const CtyValue& object, absl::string_view key, bool fallback) {
  const CtyValue* v = object.Find(key);
  return v != nullptr && v->kind == CtyValue::Kind::kBool ? v->boolean : fallback;
}

std::vector<std::string> Strings(const CtyValue& object, absl::string_view key) {
  std::vector<std::string> out;
  if (const CtyValue* v = object.Find(key); v != nullptr && v->kind == CtyValue::Kind::kList) {
    for (const CtyValue& item : v->items) out.push_back(item.text);
  }
  return out;
}

std::map<std::string, std::string> StringMap(const CtyValue& object, absl::string_view key) {
  std::map<std::string, std::string> out;
  if (const CtyValue* v = object.Find(key); v != nullptr && v->kind == CtyValue::Kind::kMap) {
    for (size_t i = 0; i < v->keys.size(); ++i) out[v->keys[i]] = v->items[i].text;
  }
  return out;
}

absl::StatusOr<bool> ParseBoolText(absl::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0" || text.empty()) return false;
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not true or false"));
}

absl::StatusOr<std::vector<TaskMount>> DecodeMounts(const CtyValue& object) {
  std::vector<TaskMount> mounts;
  const CtyValue* list = object.Find("mounts");
  if (list == nullptr || list->is_null()) return mounts;
  for (size_t i = 0; i < list->items.size(); ++i) {
    const CtyValue& m = list->items[i];
    const std::string where = absl::StrCat("task config: mounts[", i, "]");
    TaskMount mount;
    for (size_t k = 0; k < m.keys.size(); ++k) {
      const std::string& key = m.keys[k];
      const CtyValue& value = m.items[k];
      if (key == "source") {
        mount.source = value.text;
      } else if (key == "target") {
        mount.target = value.text;
      } else if (key == "readonly") {
        absl::StatusOr<bool> ro = ParseBoolText(value.text);
        if (!ro.ok()) return BadAttr(where, "readonly", ro.status().message());
        mount.read_only = *ro;
      } else {
        return BadAttr(where, key, "unknown key; a mount has source, target and readonly");
      }
    }
    if (mount.source.empty() || mount.source.front() != '/') {
      return BadAttr(where, "source", "must be an absolute path on the node");
    }
    if (mount.target.empty() || mount.target.front() != '/') {
      return BadAttr(where, "target", "must be an absolute path in the container");
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

}  // namespace

std::string HclTypeExpression(AttrType type) {
  switch (type) {
    case AttrType::kString:
      return "string";
    case AttrType::kBool:
      return "bool";
    case AttrType::kNumber:
      return "number";
    case AttrType::kListString:
      return "list(string)";
    case AttrType::kMapString:
      return "map(string)";
    case AttrType::kListMapString:
      return "list(map(string))";
    case AttrType::kCredentialsBlock:
      return "a block { username, password }";
  }
  return "string";
}

const std::vector<AttrSpec>& PluginConfigAttributes() {
  static const std::vector<AttrSpec> attrs = {
      {"state_dir", AttrType::kString, false, "\"/var/lib/stockade-nomad\""},
      {"run_dir", AttrType::kString, false, "\"/run/stockade-nomad\""},
      {"config_file", AttrType::kString, false, ""},
      {"network", AttrType::kString, false, ""},
      {"allow_privileged", AttrType::kBool, false, "false"},
      {"shim_path", AttrType::kString, false, ""},
  };
  return attrs;
}

const std::vector<AttrSpec>& TaskConfigAttributes() {
  static const std::vector<AttrSpec> attrs = {
      {"image", AttrType::kString, true, ""},
      {"command", AttrType::kString, false, ""},
      {"args", AttrType::kListString, false, ""},
      {"entrypoint", AttrType::kListString, false, ""},
      {"work_dir", AttrType::kString, false, ""},
      {"ports", AttrType::kListString, false, ""},
      {"mounts", AttrType::kListMapString, false, ""},
      {"hostname", AttrType::kString, false, ""},
      {"privileged", AttrType::kBool, false, "false"},
      {"readonly_rootfs", AttrType::kBool, false, "false"},
      {"sysctl", AttrType::kMapString, false, ""},
      {"cap_add", AttrType::kListString, false, ""},
      {"cap_drop", AttrType::kListString, false, ""},
      {"auth", AttrType::kCredentialsBlock, false, ""},
      {"force_pull", AttrType::kBool, false, "false"},
      {"network_mode", AttrType::kString, false, ""},
  };
  return attrs;
}

absl::Status CheckObject(const CtyValue& value, const std::vector<AttrSpec>& attrs,
                         absl::string_view what) {
  if (value.kind != CtyValue::Kind::kMap) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected an object, got ", CtyKindName(value.kind)));
  }
  std::vector<std::string> names;
  for (const AttrSpec& a : attrs) names.push_back(a.name);
  for (size_t i = 0; i < value.keys.size(); ++i) {
    const std::string& key = value.keys[i];
    const CtyValue& v = value.items[i];
    const AttrSpec* spec = nullptr;
    for (const AttrSpec& a : attrs) {
      if (a.name == key) spec = &a;
    }
    if (spec == nullptr) {
      return BadAttr(what, key,
                     absl::StrCat("unknown key; the keys are ", absl::StrJoin(names, ", ")));
    }
    if (v.kind == CtyValue::Kind::kUnknown) {
      return BadAttr(what, key, "its value is not known (an unresolved interpolation)");
    }
    if (!v.is_null() && !HasType(v, spec->type)) {
      return BadAttr(
          what, key,
          absl::StrCat("must be ", HclTypeExpression(spec->type), ", not ", CtyKindName(v.kind)));
    }
  }
  for (const AttrSpec& a : attrs) {
    if (!a.required) continue;
    const CtyValue* v = value.Find(a.name);
    if (v == nullptr || v->is_null() || (v->kind == CtyValue::Kind::kString && v->text.empty())) {
      return BadAttr(what, a.name, "is required");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PluginConfig> DecodePluginConfig(absl::string_view msgpack) {
  PluginConfig config;
  if (msgpack.empty()) return config;  // no plugin block: every default
  absl::StatusOr<CtyValue> value = DecodeCtyMsgpack(msgpack);
  if (!value.ok()) return value.status();
  if (absl::Status s = CheckObject(*value, PluginConfigAttributes(), "plugin config"); !s.ok()) {
    return s;
  }
  config.state_dir = StringOr(*value, "state_dir", config.state_dir);
  config.run_dir = StringOr(*value, "run_dir", config.run_dir);
  config.config_file = StringOr(*value, "config_file", "");
  config.network = StringOr(*value, "network", "");
  config.allow_privileged = BoolOr(*value, "allow_privileged", false);
  config.shim_path = StringOr(*value, "shim_path", "");
  if (!config.shim_path.empty() && config.shim_path.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("plugin config: shim_path: \"", config.shim_path,
                                                   "\" must be an absolute path"));
  }
  for (const auto* dir : {&config.state_dir, &config.run_dir}) {
    if (dir->empty() || dir->front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("plugin config: ", dir == &config.state_dir ? "state_dir" : "run_dir",
                       ": \"", *dir, "\" must be an absolute path"));
    }
  }
  return config;
}

absl::StatusOr<TaskDriverConfig> DecodeTaskDriverConfig(absl::string_view msgpack) {
  absl::StatusOr<CtyValue> value = DecodeCtyMsgpack(msgpack);
  if (!value.ok()) return value.status();
  if (absl::Status s = CheckObject(*value, TaskConfigAttributes(), "task config"); !s.ok()) {
    return s;
  }
  TaskDriverConfig c;
  c.image = StringOr(*value, "image", "");
  c.command = StringOr(*value, "command", "");
  c.args = Strings(*value, "args");
  c.entrypoint = Strings(*value, "entrypoint");
  c.work_dir = StringOr(*value, "work_dir", "");
  c.hostname = StringOr(*value, "hostname", "");
  c.ports = Strings(*value, "ports");
  absl::StatusOr<std::vector<TaskMount>> mounts = DecodeMounts(*value);
  if (!mounts.ok()) return mounts.status();
  c.mounts = *std::move(mounts);
  c.privileged = BoolOr(*value, "privileged", false);
  c.readonly_rootfs = BoolOr(*value, "readonly_rootfs", false);
  c.force_pull = BoolOr(*value, "force_pull", false);
  c.sysctl = StringMap(*value, "sysctl");
  c.cap_add = Strings(*value, "cap_add");
  c.cap_drop = Strings(*value, "cap_drop");
  const CtyValue* auth = value->Find("auth");
  for (size_t i = 0; auth != nullptr && i < auth->keys.size(); ++i) {
    const std::string& k = auth->keys[i];
    if (auth->items[i].is_null()) continue;
    const std::string& v = auth->items[i].text;
    if (k == "username") {
      c.auth_username = v;
    } else if (k == "password") {
      c.auth_password = v;
    } else {
      return BadAttr("task config", "auth",
                     absl::StrCat("unknown key \"", k, "\"; auth has username and password"));
    }
  }
  c.network_mode = StringOr(*value, "network_mode", "");
  if (!c.network_mode.empty() && c.network_mode != "host" && c.network_mode != "bridge") {
    return BadAttr("task config", "network_mode",
                   absl::StrCat("\"", c.network_mode, "\": use host or bridge"));
  }
  if (!c.work_dir.empty() && c.work_dir.front() != '/') {
    return BadAttr("task config", "work_dir", "must be an absolute path in the container");
  }
  return c;
}

}  // namespace stockade::nomad
