#include "runtime/runtime_settings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "state/record_codec.h"
#include "stockade/v1/records.pb.h"

namespace stockade {
namespace {

constexpr absl::string_view kSettingsKey = "runtime_settings";
constexpr uint32_t kSettingsRecordVersion = 1;

absl::Status CheckCidr(absl::string_view cidr) {
  const size_t slash = cidr.find('/');
  int bits = -1;
  if (slash == absl::string_view::npos || !absl::SimpleAtoi(cidr.substr(slash + 1), &bits)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pod CIDR \"", cidr, "\" is not of the form address/prefix-length"));
  }
  const std::string address(cidr.substr(0, slash));
  unsigned char buf[16];
  int max_bits = 0;
  if (::inet_pton(AF_INET, address.c_str(), buf) == 1) {
    max_bits = 32;
  } else if (::inet_pton(AF_INET6, address.c_str(), buf) == 1) {
    max_bits = 128;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("pod CIDR \"", cidr, "\" has no valid IPv4 or IPv6 address"));
  }
  if (bits < 0 || bits > max_bits) {
    return absl::InvalidArgumentError(absl::StrCat("pod CIDR \"", cidr, "\" has prefix length ",
                                                   bits, "; it must be 0 to ", max_bits));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParsePodCidrList(absl::string_view text) {
  std::vector<std::string> out;
  if (absl::StripAsciiWhitespace(text).empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::Status s = CheckCidr(part); !s.ok()) return s;
    out.emplace_back(part);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RuntimeSettings>> RuntimeSettings::Load(StateStore& store) {
  std::unique_ptr<RuntimeSettings> settings(new RuntimeSettings(store));
  absl::StatusOr<stockade::v1::RuntimeSettingsRecord> record =
      GetRecord<stockade::v1::RuntimeSettingsRecord>(store, RecordKind::kMeta, kSettingsKey);
  if (record.ok()) {
    absl::MutexLock lock(&settings->mu_);
    settings->pod_cidr_ = record->pod_cidr();
  } else if (!absl::IsNotFound(record.status())) {
    return record.status();
  }
  return settings;
}

absl::Status RuntimeSettings::SetPodCidr(absl::string_view pod_cidr) {
  absl::StatusOr<std::vector<std::string>> parsed = ParsePodCidrList(pod_cidr);
  if (!parsed.ok()) return parsed.status();
  absl::MutexLock lock(&mu_);
  if (pod_cidr == pod_cidr_) return absl::OkStatus();  // kubelet repeats it on every sync
  stockade::v1::RuntimeSettingsRecord record;
  record.set_record_version(kSettingsRecordVersion);
  record.set_pod_cidr(std::string(pod_cidr));
  if (absl::Status s = PutRecord(store_, RecordKind::kMeta, std::string(kSettingsKey), record,
                                 Durability::kSync);
      !s.ok()) {
    return s;
  }
  pod_cidr_ = std::string(pod_cidr);
  return absl::OkStatus();
}

std::string RuntimeSettings::pod_cidr() const {
  absl::MutexLock lock(&mu_);
  return pod_cidr_;
}

}  // namespace stockade
