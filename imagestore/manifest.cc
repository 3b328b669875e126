#include "imagestore/manifest.h"

#include <sys/utsname.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace stockade {
namespace {

using Json = nlohmann::json;

absl::StatusOr<Json> ParseJsonObject(absl::string_view body, absl::string_view what,
                                     int64_t max_bytes) {
  if (static_cast<int64_t>(body.size()) > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " is ", body.size(), " bytes, over the limit of ", max_bytes));
  }
  Json doc = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a JSON object"));
  }
  return doc;
}

std::string StringField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> StringList(const Json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const Json& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

absl::StatusOr<Descriptor> ParseDescriptor(const Json& j, absl::string_view where) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  Descriptor d;
  d.media_type = StringField(j, "mediaType");
  absl::StatusOr<Digest> digest = Digest::Parse(StringField(j, "digest"));
  if (!digest.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", digest.status().message()));
  }
  d.digest = *digest;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, " has no valid size"));
  }
  d.size = size->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform = Platform{StringField(*p, "os"), StringField(*p, "architecture"),
                          StringField(*p, "variant")};
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (auto it = a->begin(); it != a->end(); ++it) {
      if (it.value().is_string()) d.annotations[it.key()] = it.value().get<std::string>();
    }
  }
  return d;
}

bool IsIndexType(absl::string_view t) {
  return t == media_type::kOciIndex || t == media_type::kDockerList;
}
bool IsManifestType(absl::string_view t) {
  return t == media_type::kOciManifest || t == media_type::kDockerManifest;
}
bool IsSchema1(absl::string_view t) {
  return t == media_type::kDockerSchema1 || t == media_type::kDockerSchema1Signed;
}

std::string MachineToArchitecture(absl::string_view machine) {
  if (machine == "x86_64" || machine == "amd64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine == "i386" || machine == "i686") return "386";
  if (machine == "ppc64le" || machine == "powerpc64le") return "ppc64le";
  if (machine == "riscv64") return "riscv64";
  if (machine == "s390x") return "s390x";
  return std::string(machine);
}

}  // namespace

std::string ManifestAcceptHeader() {
  return absl::StrJoin({media_type::kOciIndex, media_type::kDockerList, media_type::kOciManifest,
                        media_type::kDockerManifest},
                       ", ");
}

std::string Platform::String() const {
  return variant.empty() ? absl::StrCat(os, "/", architecture)
                         : absl::StrCat(os, "/", architecture, "/", variant);
}

absl::StatusOr<ManifestKind> ClassifyManifest(absl::string_view content_type,
                                              absl::string_view body) {
  std::string type(content_type.substr(0, content_type.find(';')));
  if (type.empty() || type == "application/json" || type == "text/plain" ||
      type == "application/octet-stream") {
    // Some registries answer with a generic type; the document says what it is.
    Json doc = Json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_object()) {
      type = StringField(doc, "mediaType");
      if (type.empty() && doc.contains("manifests")) type = media_type::kOciIndex;
      if (type.empty() && doc.contains("layers")) type = media_type::kOciManifest;
      if (type.empty() && doc.value("schemaVersion", 0) == 1) type = media_type::kDockerSchema1;
    }
  }
  if (IsIndexType(type)) return ManifestKind::kIndex;
  if (IsManifestType(type)) return ManifestKind::kImage;
  if (IsSchema1(type)) {
    return absl::InvalidArgumentError(
        "the registry serves this image only as Docker schema 1, which stockade does not "
        "support (it is deprecated and unverifiable); push it again with a current client");
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported manifest media type \"", type, "\""));
}

absl::StatusOr<ImageIndex> ParseImageIndex(absl::string_view body) {
  absl::StatusOr<Json> doc = ParseJsonObject(body, "image index", kMaxManifestBytes);
  if (!doc.ok()) return doc.status();
  ImageIndex index;
  index.media_type = StringField(*doc, "mediaType");
  auto manifests = doc->find("manifests");
  if (manifests == doc->end() || !manifests->is_array()) {
    return absl::InvalidArgumentError("image index has no \"manifests\" list");
  }
  for (size_t i = 0; i < manifests->size(); ++i) {
    absl::StatusOr<Descriptor> d =
        ParseDescriptor((*manifests)[i], absl::StrCat("image index manifests[", i, "]"));
    if (!d.ok()) return d.status();
    index.manifests.push_back(*std::move(d));
  }
  return index;
}

absl::StatusOr<ImageManifest> ParseImageManifest(absl::string_view body) {
  absl::StatusOr<Json> doc = ParseJsonObject(body, "image manifest", kMaxManifestBytes);
  if (!doc.ok()) return doc.status();
  ImageManifest m;
  m.media_type = StringField(*doc, "mediaType");
  auto config = doc->find("config");
  if (config == doc->end()) return absl::InvalidArgumentError("image manifest has no config");
  absl::StatusOr<Descriptor> c = ParseDescriptor(*config, "image manifest config");
  if (!c.ok()) return c.status();
  if (c->size > kMaxConfigBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image config is ", c->size, " bytes, over the limit of ", kMaxConfigBytes));
  }
  m.config = *std::move(c);
  auto layers = doc->find("layers");
  if (layers == doc->end() || !layers->is_array()) {
    return absl::InvalidArgumentError("image manifest has no \"layers\" list");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    absl::StatusOr<Descriptor> d =
        ParseDescriptor((*layers)[i], absl::StrCat("image manifest layers[", i, "]"));
    if (!d.ok()) return d.status();
    if (absl::StatusOr<LayerCompression> comp = CompressionOfLayer(d->media_type); !comp.ok()) {
      return comp.status();
    }
    m.layers.push_back(*std::move(d));
  }
  return m;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view body) {
  absl::StatusOr<Json> doc = ParseJsonObject(body, "image config", kMaxConfigBytes);
  if (!doc.ok()) return doc.status();
  ImageConfig c;
  c.os = StringField(*doc, "os");
  c.architecture = StringField(*doc, "architecture");
  if (auto cfg = doc->find("config"); cfg != doc->end() && cfg->is_object()) {
    c.user = StringField(*cfg, "User");
    c.env = StringList(*cfg, "Env");
    c.entrypoint = StringList(*cfg, "Entrypoint");
    c.cmd = StringList(*cfg, "Cmd");
    c.working_dir = StringField(*cfg, "WorkingDir");
    c.stop_signal = StringField(*cfg, "StopSignal");
    if (auto labels = cfg->find("Labels"); labels != cfg->end() && labels->is_object()) {
      for (auto it = labels->begin(); it != labels->end(); ++it) {
        if (it.value().is_string()) c.labels[it.key()] = it.value().get<std::string>();
      }
    }
    if (auto volumes = cfg->find("Volumes"); volumes != cfg->end() && volumes->is_object()) {
      for (auto it = volumes->begin(); it != volumes->end(); ++it) c.volumes.push_back(it.key());
    }
  }
  auto rootfs = doc->find("rootfs");
  if (rootfs == doc->end() || !rootfs->is_object()) {
    return absl::InvalidArgumentError("image config has no rootfs");
  }
  auto diff_ids = rootfs->find("diff_ids");
  if (diff_ids == rootfs->end() || !diff_ids->is_array()) {
    return absl::InvalidArgumentError("image config has no rootfs.diff_ids");
  }
  for (const Json& id : *diff_ids) {
    absl::StatusOr<Digest> d = Digest::Parse(id.is_string() ? id.get<std::string>() : "");
    if (!d.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("image config rootfs.diff_ids: ", d.status().message()));
    }
    c.diff_ids.push_back(*d);
  }
  return c;
}

absl::StatusOr<LayerCompression> CompressionOfLayer(absl::string_view t) {
  if (t == "application/vnd.oci.image.layer.v1.tar" ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return LayerCompression::kNone;
  }
  if (t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      t == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    return LayerCompression::kGzip;
  }
  if (t == "application/vnd.oci.image.layer.v1.tar+zstd" ||
      t == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return LayerCompression::kZstd;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported layer media type \"", t, "\""));
}

std::vector<Platform> PlatformsFor(absl::string_view os, absl::string_view machine) {
  const std::string arch = MachineToArchitecture(machine);
  if (os == "FreeBSD" || os == "freebsd") {
    return {Platform{"freebsd", arch, ""}, Platform{"linux", arch, ""}};
  }
  return {Platform{"linux", arch, ""}};
}

std::vector<Platform> HostPlatforms() {
  struct utsname u;
  if (::uname(&u) != 0) return {Platform{"linux", "amd64", ""}};
  return PlatformsFor(u.sysname, u.machine);
}

absl::StatusOr<Descriptor> SelectPlatform(const ImageIndex& index,
                                          const std::vector<Platform>& preferred) {
  for (const Platform& want : preferred) {
    for (const Descriptor& d : index.manifests) {
      if (!d.platform) continue;
      // arm64's only variant is v8; an empty variant matches any.
      const bool variant_ok = want.variant.empty() || d.platform->variant.empty() ||
                              d.platform->variant == want.variant;
      if (d.platform->os == want.os && d.platform->architecture == want.architecture &&
          variant_ok &&
          IsManifestType(d.media_type.empty() ? media_type::kOciManifest : d.media_type)) {
        return d;
      }
    }
  }
  std::vector<std::string> offered, wanted;
  for (const Descriptor& d : index.manifests) {
    if (d.platform) offered.push_back(d.platform->String());
  }
  for (const Platform& p : preferred) wanted.push_back(p.String());
  return absl::NotFoundError(absl::StrCat(
      "no image for ", absl::StrJoin(wanted, " or "),
      " in the index (it offers: ", offered.empty() ? "none" : absl::StrJoin(offered, ", "), ")"));
}

}  // namespace stockade
