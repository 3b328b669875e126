#include "runtime/freebsd/zfs_plan.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace stockade::freebsd {
namespace {

uint64_t Fnv1a64(absl::string_view text, uint64_t h = 1469598103934665603ull) {
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
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
  uint64_t h = Fnv1a64("");
  for (size_t i = 0; i < count && i < layers.size(); ++i) {
    h = Fnv1a64(layers[i], h);
    h = Fnv1a64("\n", h);
  }
  return absl::StrCat(dataset, "/layers/", absl::StrFormat("%016x", h));
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
