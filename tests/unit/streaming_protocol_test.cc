// The streaming server's plain parts: SPDY framing and header compression, protocol
// negotiation, the v4 status, resize messages, the token cache.
#include <zlib.h>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "streaming/remote_command_protocol.h"
#include "streaming/request_cache.h"
#include "streaming/spdy_frame.h"

namespace stockade {
namespace {

TEST(SpdyFrame, DictionaryIsSpdy3s) {
  const std::string& d = spdy::HeaderDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(d.data()), d.size()), 0xE3C6A7C2u);
}

TEST(SpdyFrame, CompressesAsGoAndPythonZlibDo) {
  spdy::HeaderCompressor c;
  // Level 9 with the dictionary: the zlib header and the dictionary's Adler-32 lead.
  const std::string first = c.Compress({{"streamtype", "error"}});
  EXPECT_EQ(absl::BytesToHexString(first),
            "78f9e3c6a7c202a62346703a2b294a4dcc851625aca9a08006000000ffff");
  EXPECT_EQ(absl::BytesToHexString(c.Compress({})), "02321800000000ffff");
}

TEST(SpdyFrame, HeaderBlocksShareOneStreamAcrossFrames) {
  spdy::HeaderCompressor c;
  spdy::HeaderDecompressor d;
  for (int i = 0; i < 3; ++i) {
    const spdy::Headers h = {
        {"streamtype", "data"}, {"port", "80"}, {"requestid", std::to_string(i)}};
    absl::StatusOr<spdy::Headers> back = d.Decompress(c.Compress(h));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, h);
  }
  // A block on its own (a fresh inflater) is not decodable after the first: state is shared.
  spdy::HeaderCompressor c2;
  c2.Compress({{"a", "b"}});
  spdy::HeaderDecompressor fresh;
  EXPECT_FALSE(fresh.Decompress(c2.Compress({{"a", "b"}})).ok());
}

TEST(SpdyFrame, ReadsFramesSplitAnywhere) {
  spdy::HeaderCompressor c;
  const std::string bytes = spdy::SynStreamFrame(1, c.Compress({{"streamtype", "stdout"}})) +
                            spdy::DataFrames(1, "hello", true) + spdy::PingFrame(7);
  spdy::FrameReader reader;
  std::vector<spdy::Frame> frames;
  for (char b : bytes) {
    reader.Feed(absl::string_view(&b, 1));
    absl::StatusOr<std::optional<spdy::Frame>> f = reader.Next();
    ASSERT_TRUE(f.ok());
    if (f->has_value()) frames.push_back(**f);
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_TRUE(frames[0].control);
  EXPECT_EQ(frames[0].type, spdy::FrameType::kSynStream);
  absl::StatusOr<spdy::StreamHeader> syn = spdy::ParseSynStream(frames[0]);
  ASSERT_TRUE(syn.ok());
  EXPECT_EQ(syn->stream_id, 1u);
  spdy::HeaderDecompressor d;
  EXPECT_EQ(spdy::HeaderValue(*d.Decompress(syn->block), "StreamType"), "stdout");
  EXPECT_FALSE(frames[1].control);
  EXPECT_EQ(frames[1].stream_id, 1u);
  EXPECT_EQ(frames[1].payload, "hello");
  EXPECT_TRUE(frames[1].fin());
  EXPECT_EQ(*spdy::ParsePing(frames[2]), 7u);
}

TEST(SpdyFrame, WireBytesMatchTheNote) {
  EXPECT_EQ(absl::BytesToHexString(spdy::DataFrames(1, "hello", false)),
            "000000010000000568656c6c6f");
  EXPECT_EQ(absl::BytesToHexString(spdy::DataFrames(1, "", true)), "0000000101000000");
  EXPECT_EQ(absl::BytesToHexString(spdy::RstStreamFrame(1, spdy::RstStatus::kCancel)),
            "80030003000000080000000100000005");
  EXPECT_EQ(absl::BytesToHexString(spdy::SynReplyFrame(1, "")), "800300020000000400000001");
}

TEST(SpdyFrame, RefusesOtherVersionsAndStreamZero) {
  spdy::FrameReader reader;
  reader.Feed(absl::HexStringToBytes("8002000100000000"));
  EXPECT_FALSE(reader.Next().ok());
  spdy::FrameReader zero;
  zero.Feed(absl::HexStringToBytes("0000000000000000"));
  EXPECT_FALSE(zero.Next().ok());
}

TEST(SpdyFrame, CorruptHeaderBlockIsAnError) {
  spdy::HeaderDecompressor d;
  EXPECT_FALSE(d.Decompress("not zlib at all").ok());
}

TEST(RemoteCommandProtocol, NegotiatesTheClientsFirstSupportedChoice) {
  EXPECT_EQ(NegotiateProtocol({"v4.channel.k8s.io", "v3.channel.k8s.io"}, SpdyCommandProtocols()),
            "v4.channel.k8s.io");
  EXPECT_EQ(NegotiateProtocol({"v9.channel.k8s.io, v2.channel.k8s.io"}, SpdyCommandProtocols()),
            "v2.channel.k8s.io");
  EXPECT_EQ(NegotiateProtocol({"bogus"}, SpdyCommandProtocols()), std::nullopt);
  EXPECT_EQ(NegotiateProtocol({}, {kPortForwardProtocol}), std::nullopt);
}

TEST(RemoteCommandProtocol, ExitCodeStatusIsWhatClientGoDecodes) {
  const CommandProtocol v4 = CommandProtocolNamed(kRemoteCommandV4);
  const nlohmann::json j = nlohmann::json::parse(ExitCodeStatus(v4, 7, {"sh", "-c", "exit 7"}));
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["reason"], "NonZeroExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["message"], "7");
  EXPECT_EQ(j["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 7], "
            "exit code 7");
  EXPECT_EQ(ExitCodeStatus(v4, 0, {"true"}), R"({"metadata":{},"status":"Success"})");
  const CommandProtocol v2 = CommandProtocolNamed(kRemoteCommandV2);
  EXPECT_EQ(SuccessStatus(v2), "");
  EXPECT_EQ(FailureStatus(v2, "boom"), "boom");
  EXPECT_EQ(nlohmann::json::parse(FailureStatus(v4, "boom"))["reason"], "InternalError");
}

TEST(RemoteCommandProtocol, ResizeMessagesInPieces) {
  ResizeDecoder d;
  EXPECT_TRUE(d.Feed(R"({"Width":80,)").empty());
  std::vector<TerminalSize> sizes = d.Feed("\"Height\":24}\n{\"width\":100,\"height\":40}\n");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0].width, 80);
  EXPECT_EQ(sizes[0].height, 24);
  EXPECT_EQ(sizes[1].width, 100);
  EXPECT_EQ(sizes[1].height, 40);
}

TEST(RequestCache, TokensAreSingleUseOfOneKindAndExpire) {
  absl::Time now = absl::FromUnixSeconds(1000);
  RequestCache cache(absl::Minutes(1), [&] { return now; });
  StreamRequest exec;
  exec.container_id = "c1";
  absl::StatusOr<std::string> token = cache.Insert(exec);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), 8u);
  EXPECT_EQ(cache.Consume(StreamKind::kAttach, *token), std::nullopt);  // wrong kind: gone
  token = cache.Insert(exec);
  ASSERT_TRUE(cache.Consume(StreamKind::kExec, *token).has_value());
  EXPECT_EQ(cache.Consume(StreamKind::kExec, *token), std::nullopt);  // used
  token = cache.Insert(exec);
  now += absl::Seconds(61);
  EXPECT_EQ(cache.Consume(StreamKind::kExec, *token), std::nullopt);  // expired
  EXPECT_EQ(cache.Consume(StreamKind::kExec, "nope"), std::nullopt);
}

TEST(RequestCache, AtMostAThousandInFlight) {
  RequestCache cache;
  for (size_t i = 0; i < RequestCache::kMaxInFlight; ++i) ASSERT_TRUE(cache.Insert({}).ok());
  absl::StatusOr<std::string> one_more = cache.Insert({});
  EXPECT_EQ(one_more.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace stockade
