#include "runtime/freebsd/zfs_plan.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "openssl/evp.h"

namespace stockade::freebsd {
namespace {

// SHA-256, hex, of `text`: a chain's name must not be forgeable by an image that wants
// another image's chain (a fast non-cryptographic hash would let it search for a collision).
std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

}  // namespace

absl::Status CheckDatasetName(const std::string& dataset) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("ZFS dataset \"", dataset, "\": ", why));
  };
  if (dataset.empty() || dataset.front() == '/' || dataset.back() == '/') {
    return bad("must be pool/path, without a leading or trailing /");
  }
  for (char c : dataset) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ':' && c != '/') {
      return bad(absl::StrCat("holds '", std::string(1, c), "'; use letters, digits, _ - . : /"));
    }
  }
  return absl::OkStatus();
}

std::string LayerChainDataset(const std::string& dataset, const std::vector<std::string>& layers,
                              size_t count) {
  std::string chain;
  for (size_t i = 0; i < count && i < layers.size(); ++i) absl::StrAppend(&chain, layers[i], "\n");
  return absl::StrCat(dataset, "/layers/", Sha256Hex(chain).substr(0, 32));
}

std::string ContainerDataset(const std::string& dataset, const std::string& key) {
  return absl::StrCat(dataset, "/containers/", key);
}

ZfsCommand PlanChainCreate(const std::string& dataset, const std::vector<std::string>& layers,
                           size_t count, const std::string& mountpoint) {
  const std::string chain = LayerChainDataset(dataset, layers, count);
  const std::string mp = absl::StrCat("mountpoint=", mountpoint);
  if (count <= 1) return {"zfs", "create", "-p", "-o", mp, "-o", "canmount=on", chain};
  return {"zfs", "clone", "-p",
          "-o",  mp,      absl::StrCat(LayerChainDataset(dataset, layers, count - 1), "@ready"),
          chain};
}

std::vector<ZfsCommand> PlanChainSeal(const std::string& chain) {
  return {{"zfs", "set", "readonly=on", chain},
          {"zfs", "umount", chain},
          {"zfs", "set", "canmount=noauto", chain},
          {"zfs", "snapshot", absl::StrCat(chain, "@ready")}};
}

ZfsCommand PlanContainerClone(const std::string& dataset, const std::vector<std::string>& layers,
                              const std::string& key, const std::string& rootfs) {
  return {"zfs",
          "clone",
          "-p",
          "-o",
          absl::StrCat("mountpoint=", rootfs),
          "-o",
          "readonly=off",
          absl::StrCat(LayerChainDataset(dataset, layers, layers.size()), "@ready"),
          ContainerDataset(dataset, key)};
}

ZfsCommand PlanContainerDestroy(const std::string& dataset, const std::string& key) {
  return {"zfs", "destroy", "-r", "-f", ContainerDataset(dataset, key)};
}

ZfsCommand PlanUsageQuery(const std::string& dataset, const std::string& key) {
  return {"zfs", "get", "-Hp", "-o", "value", "written", ContainerDataset(dataset, key)};
}

ZfsCommand PlanChainReadyQuery(const std::string& chain) {
  return {"zfs", "list", "-H", "-o", "name", "-t", "snapshot", absl::StrCat(chain, "@ready")};
}

ZfsCommand PlanChainDiscard(const std::string& chain) {
  return {"zfs", "destroy", "-r", "-f", chain};
}

ZfsCommand PlanDatasetEnsure(const std::string& dataset) {
  return {"zfs", "create", "-p", "-o", "mountpoint=none", dataset};
}

bool IsMissingDatasetError(const absl::Status& status) {
  return absl::StrContains(status.message(), "does not exist");
}

}  // namespace stockade::freebsd
