// A real OCI registry (Debian's docker-registry) on 127.0.0.1 with the test images pushed,
// for integration tests: started through scripts/testregistry.sh, filled by
// scripts/testimages.py, whose JSON summary says every digest the tests expect.
#pragma once

#include <memory>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"

namespace stockade::testing {

class TestRegistry {
 public:
  // Starts a registry (with Basic auth when `user` is non-empty) and pushes the images; with
  // `tls` "tls" or "mtls" it is then restarted over HTTPS (mtls: client certificates required).
  // Returns null, with the reason in `error`, if anything fails.
  static std::unique_ptr<TestRegistry> Start(const std::string& user, const std::string& password,
                                             std::string* error, const std::string& tls = "");
  ~TestRegistry();

  const std::string& host() const { return host_; }  // "127.0.0.1:PORT"
  // The summary entry of a pushed reference such as "stockade-test/busybox:1.0".
  const nlohmann::json& Image(const std::string& ref) const;
  std::string Ref(const std::string& name) const { return host_ + "/" + name; }
  // ca.pem, client.pem, client-key.pem of a TLS registry.
  std::string TlsFile(const std::string& name) const { return dir_.Sub("registry/tls/" + name); }

 private:
  TempDir dir_;
  std::string host_;
  nlohmann::json images_;
};

}  // namespace stockade::testing
