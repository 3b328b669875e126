// The distribution client against a fake registry that can misbehave on demand.
#include "imagestore/registry_client.h"

#include <atomic>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_http_server.h"

namespace stockade {
namespace {

using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;
using ::testing::HasSubstr;

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";

class CollectingSink : public BlobSink {
 public:
  absl::Status Begin() override {
    ++begins;
    data.clear();
    return absl::OkStatus();
  }
  absl::Status Write(const char* d, size_t n) override {
    data.append(d, n);
    return absl::OkStatus();
  }
  int begins = 0;
  std::string data;
};

class RegistryClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Registry> Client(const std::string& domain, RegistryHostSettings settings = {}) {
    settings.plain_http = true;
    hosts_ = std::make_unique<RegistryHosts>(
        std::map<std::string, RegistryHostSettings>{{domain, settings}}, "");
    RegistryClientOptions options;
    options.initial_backoff = absl::Milliseconds(5);
    options.progress_timeout = absl::Seconds(1);
    return NewDistributionRegistry(*hosts_, options);
  }
  static ImageReference Ref(const FakeHttpServer& server, const std::string& path = "team/app") {
    return ImageReference{"127.0.0.1:" + std::to_string(server.port()), path, "v1", ""};
  }
  static Descriptor Blob(const std::string& content) {
    Descriptor d;
    d.media_type = "application/vnd.oci.image.layer.v1.tar";
    d.digest = Sha256::Of(content);
    d.size = static_cast<int64_t>(content.size());
    return d;
  }
  std::unique_ptr<RegistryHosts> hosts_;
};

TEST_F(RegistryClientTest, AnonymousManifestByTagAcceptsEverySchema2AndOciType) {
  FakeHttpServer server([](const FakeRequest& r) {
    if (r.path == "/v2/") return FakeResponse{200, {}, "{}"};
    return FakeResponse{200, {{"Content-Type", media_type::kOciManifest}}, kManifest};
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  absl::StatusOr<FetchedManifest> m = client->FetchManifest(Ref(server), "v1", {});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->body, kManifest);
  EXPECT_EQ(m->digest, Sha256::Of(kManifest));
  EXPECT_EQ(m->content_type, media_type::kOciManifest);
  const FakeRequest get = server.requests().back();
  EXPECT_EQ(get.path, "/v2/team/app/manifests/v1");
  for (const char* type : {media_type::kOciIndex, media_type::kDockerList, media_type::kOciManifest,
                           media_type::kDockerManifest}) {
    EXPECT_THAT(get.headers.at("accept"), HasSubstr(type));
  }
}

TEST_F(RegistryClientTest, BearerTokenIsFetchedForTheScopeAndCached) {
  std::atomic<int> token_requests{0};
  FakeHttpServer* self = nullptr;
  FakeHttpServer server([&](const FakeRequest& r) {
    const std::string realm = "http://127.0.0.1:" + std::to_string(self->port()) + "/token";
    if (absl::StartsWith(r.path, "/token")) {
      ++token_requests;
      EXPECT_THAT(r.path, HasSubstr("service=fake-registry"));
      EXPECT_THAT(r.path, HasSubstr("scope=repository%3Ateam%2Fapp%3Apull"));
      EXPECT_EQ(r.headers.count("authorization") ? r.headers.at("authorization") : "",
                "Basic " + absl::Base64Escape("alice:pw"));
      return FakeResponse{200, {}, R"({"token":"T1","expires_in":300})"};
    }
    auto auth = r.headers.find("authorization");
    if (auth == r.headers.end() || auth->second != "Bearer T1") {
      return FakeResponse{
          401,
          {{"WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"fake-registry\""}},
          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    }
    if (r.path == "/v2/") return FakeResponse{200, {}, "{}"};
    return FakeResponse{200, {{"Content-Type", media_type::kOciManifest}}, kManifest};
  });
  self = &server;
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  RegistryCredentials creds{"alice", "pw", ""};
  ASSERT_TRUE(client->FetchManifest(Ref(server), "v1", creds).ok());
  ASSERT_TRUE(client->FetchManifest(Ref(server), "v2", creds).ok());
  EXPECT_EQ(token_requests.load(), 1);
}

TEST_F(RegistryClientTest, BasicChallengeSendsCredentialsOrSaysTheyAreMissing) {
  FakeHttpServer server([](const FakeRequest& r) {
    auto auth = r.headers.find("authorization");
    if (auth == r.headers.end() || auth->second != "Basic " + absl::Base64Escape("bob:pw")) {
      return FakeResponse{401, {{"WWW-Authenticate", "Basic realm=\"fake\""}}, ""};
    }
    return FakeResponse{200, {{"Content-Type", media_type::kOciManifest}}, kManifest};
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  absl::StatusOr<FetchedManifest> none = client->FetchManifest(Ref(server), "v1", {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("username and password"));
  EXPECT_TRUE(client->FetchManifest(Ref(server), "v1", {"bob", "pw", ""}).ok());
}

TEST_F(RegistryClientTest, ServerErrorsAreRetriedWithBackoff) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeRequest& r) {
    if (r.path == "/v2/") return FakeResponse{200, {}, "{}"};
    if (++calls < 3) return FakeResponse{503, {}, R"({"errors":[{"code":"UNAVAILABLE"}]})"};
    return FakeResponse{200, {{"Content-Type", media_type::kOciManifest}}, kManifest};
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(client->FetchManifest(Ref(server), "v1", {}).ok());
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(RegistryClientTest, ADroppedBlobTransferRestartsFromTheBeginning) {
  const std::string content(200000, 'b');
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeRequest& r) {
    FakeResponse resp{200, {}, content};
    if (absl::StrContains(r.path, "/blobs/") && ++calls == 1) resp.truncate_after = 1000;
    return resp;
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  CollectingSink sink;
  absl::Status s = client->FetchBlob(Ref(server), Blob(content), {}, sink);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(sink.begins, 2);
  EXPECT_EQ(sink.data, content);
}

TEST_F(RegistryClientTest, AStalledTransferFailsAfterTheProgressTimeout) {
  const std::string content(100000, 's');
  FakeHttpServer server([&](const FakeRequest& r) {
    FakeResponse resp{200, {}, content};
    if (absl::StrContains(r.path, "/blobs/")) {
      resp.stall_after = 10;
      resp.stall_ms = 4000;
    }
    return resp;
  });
  RegistryHostSettings settings;
  auto client = Client("127.0.0.1:" + std::to_string(server.port()), settings);
  CollectingSink sink;
  absl::Status s = client->FetchBlob(Ref(server), Blob(content), {}, sink);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("progress timeout"));
}

TEST_F(RegistryClientTest, BlobRedirectsAreFollowedWithoutCredentials) {
  const std::string content = "layer bytes";
  FakeHttpServer storage([&](const FakeRequest& r) {
    EXPECT_EQ(r.headers.count("authorization"), 0u) << "credentials leaked to the redirect";
    return FakeResponse{200, {}, content};
  });
  FakeHttpServer server([&](const FakeRequest& r) {
    if (absl::StrContains(r.path, "/blobs/")) {
      return FakeResponse{307, {{"Location", storage.base() + "/signed/blob?sig=1"}}, ""};
    }
    return FakeResponse{200, {}, "{}"};
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  CollectingSink sink;
  RegistryHostSettings settings;
  ASSERT_TRUE(client->FetchBlob(Ref(server), Blob(content), {"u", "p", ""}, sink).ok());
  EXPECT_EQ(sink.data, content);
  ASSERT_EQ(storage.requests().size(), 1u);
  EXPECT_EQ(storage.requests()[0].path, "/signed/blob?sig=1");
}

TEST_F(RegistryClientTest, HttpErrorsMapToCodesWithTheRegistrysMessage) {
  struct Case {
    int status;
    absl::StatusCode code;
  };
  for (const Case& c :
       {Case{403, absl::StatusCode::kPermissionDenied}, Case{404, absl::StatusCode::kNotFound},
        Case{429, absl::StatusCode::kResourceExhausted}, Case{500, absl::StatusCode::kUnavailable},
        Case{400, absl::StatusCode::kInvalidArgument}}) {
    FakeHttpServer server([&](const FakeRequest& r) {
      if (r.path == "/v2/") return FakeResponse{200, {}, "{}"};
      return FakeResponse{c.status, {}, R"({"errors":[{"code":"X","message":"told you so"}]})"};
    });
    auto client = Client("127.0.0.1:" + std::to_string(server.port()));
    absl::StatusOr<FetchedManifest> m = client->FetchManifest(Ref(server), "v1", {});
    EXPECT_EQ(m.status().code(), c.code) << c.status << ": " << m.status();
    EXPECT_THAT(std::string(m.status().message()), HasSubstr("X: told you so"));
  }
}

TEST_F(RegistryClientTest, LyingDigestsAndHugeManifestsAreRefused) {
  const std::string other = R"({"schemaVersion":2})";
  FakeHttpServer server([&](const FakeRequest& r) {
    if (absl::EndsWith(r.path, "/manifests/huge")) {
      return FakeResponse{200, {}, std::string(kMaxManifestBytes + 10, ' ')};
    }
    if (absl::EndsWith(r.path, "/manifests/lies")) {
      return FakeResponse{200, {{"Docker-Content-Digest", Sha256::Of(other).String()}}, kManifest};
    }
    return FakeResponse{200, {}, kManifest};
  });
  auto client = Client("127.0.0.1:" + std::to_string(server.port()));
  // Asked by digest, answered with other bytes.
  absl::StatusOr<FetchedManifest> m =
      client->FetchManifest(Ref(server), Sha256::Of(other).String(), {});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
  m = client->FetchManifest(Ref(server), "lies", {});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
  m = client->FetchManifest(Ref(server), "huge", {});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted) << m.status();
}

TEST_F(RegistryClientTest, MirrorsAreTriedInOrderBeforeTheOrigin) {
  FakeHttpServer empty_mirror([](const FakeRequest& r) {
    return FakeResponse{404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN"}]})"};
  });
  FakeHttpServer good_mirror([](const FakeRequest& r) {
    return FakeResponse{200, {{"Content-Type", media_type::kOciManifest}}, kManifest};
  });
  RegistryHostSettings settings;
  settings.mirrors = {empty_mirror.base(), good_mirror.base()};
  auto client = Client("registry.example.test", settings);
  ImageReference ref{"registry.example.test", "team/app", "v1", ""};
  absl::StatusOr<FetchedManifest> m = client->FetchManifest(ref, "v1", {});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(empty_mirror.requests().empty());
  EXPECT_EQ(good_mirror.requests().back().path, "/v2/team/app/manifests/v1");
}

TEST(AuthChallenge, ParsesQuotedParametersWithCommas) {
  AuthChallenge c = ParseAuthChallenge(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.params["realm"], "https://auth.example/token");
  EXPECT_EQ(c.params["service"], "registry.example");
  EXPECT_EQ(c.params["scope"], "repository:a/b:pull,push");
  EXPECT_EQ(ParseAuthChallenge("Basic realm=x").params["realm"], "x");
  EXPECT_EQ(ParseAuthChallenge("").scheme, "");
}

}  // namespace
}  // namespace stockade
