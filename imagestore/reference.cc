#include "imagestore/reference.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "imagestore/digest.h"

namespace stockade {
namespace {

absl::Status Invalid(absl::string_view ref, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid image reference \"", ref, "\": ", why));
}

bool IsAlnumLower(char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z'); }

// One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool IsValidPathComponent(absl::string_view c) {
  if (c.empty() || !IsAlnumLower(c.front()) || !IsAlnumLower(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsAlnumLower(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = (i + 1 < c.size() && c[i + 1] == '_') ? i + 2 : i + 1;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !IsAlnumLower(c[j])) return false;
    i = j;
  }
  return true;
}

// host[:port], host = DNS labels separated by dots, or a bracketed IPv6 address.
bool IsValidDomain(absl::string_view d) {
  absl::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    const size_t close = d.find(']');
    if (close == absl::string_view::npos) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') return false;
    }
    host = "";
    d = d.substr(close + 1);
    if (d.empty()) return true;
    if (d.front() != ':') return false;
  } else {
    const size_t colon = d.find(':');
    host = d.substr(0, colon);
    d = colon == absl::string_view::npos ? "" : d.substr(colon);
    for (absl::string_view label : absl::StrSplit(host, '.')) {
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      for (char c : label) {
        if (!absl::ascii_isalnum(c) && c != '-') return false;
      }
    }
  }
  if (!d.empty()) {  // ":port"
    const absl::string_view port = d.substr(1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (!absl::ascii_isdigit(c)) return false;
    }
  }
  return true;
}

// [\w][\w.-]{0,127}
bool IsValidTag(absl::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return absl::ascii_isalnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string ImageReference::String() const {
  std::string out = Repository();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

std::string ImageReference::TagReference() const {
  return tag.empty() ? "" : absl::StrCat(Repository(), ":", tag);
}

std::string ImageReference::DigestReference() const {
  return digest.empty() ? "" : absl::StrCat(Repository(), "@", digest);
}

absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  ImageReference ref;
  absl::string_view rest = text;

  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    absl::StatusOr<Digest> digest = Digest::Parse(rest.substr(at + 1));
    if (!digest.ok()) return Invalid(text, digest.status().message());
    ref.digest = digest->String();
    rest = rest.substr(0, at);
  }
  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  const size_t last_slash = rest.rfind('/');
  const size_t last_colon = rest.rfind(':');
  if (last_colon != absl::string_view::npos &&
      (last_slash == absl::string_view::npos || last_colon > last_slash)) {
    ref.tag = std::string(rest.substr(last_colon + 1));
    if (!IsValidTag(ref.tag)) {
      return Invalid(text, absl::StrCat("tag \"", ref.tag,
                                        "\" must be 1-128 of [A-Za-z0-9_.-], not starting with "
                                        ". or -"));
    }
    rest = rest.substr(0, last_colon);
  }
  if (rest.empty()) return Invalid(text, "it has no repository name");

  // The first component is a registry host if it looks like one (has '.' or ':' or is
  // "localhost", or has an uppercase letter) and more components follow, as Docker decides.
  const size_t first_slash = rest.find('/');
  if (first_slash != absl::string_view::npos) {
    const absl::string_view first = rest.substr(0, first_slash);
    const bool looks_like_host =
        first.find('.') != absl::string_view::npos || first.find(':') != absl::string_view::npos ||
        first == "localhost" ||
        std::any_of(first.begin(), first.end(), [](char c) { return absl::ascii_isupper(c); });
    if (looks_like_host) {
      if (!IsValidDomain(first)) {
        return Invalid(text, absl::StrCat("registry \"", first, "\" is not a valid host[:port]"));
      }
      ref.domain = std::string(first);
      rest = rest.substr(first_slash + 1);
    }
  }
  if (ref.domain.empty() || ref.domain == "index.docker.io")
    ref.domain = std::string(kDefaultRegistry);

  for (absl::string_view component : absl::StrSplit(rest, '/')) {
    if (!IsValidPathComponent(component)) {
      const bool upper = std::any_of(component.begin(), component.end(),
                                     [](char c) { return absl::ascii_isupper(c); });
      return Invalid(text, upper ? "repository names must be lowercase"
                                 : absl::StrCat("path component \"", component,
                                                "\" must be lowercase letters and digits "
                                                "separated by '.', '_', '__' or '-'"));
    }
  }
  ref.path = std::string(rest);
  if (ref.domain == kDefaultRegistry && ref.path.find('/') == std::string::npos) {
    ref.path = absl::StrCat("library/", ref.path);
  }
  if (ref.Repository().size() > 255) {
    return Invalid(text, "the repository name is longer than 255 characters");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace stockade
