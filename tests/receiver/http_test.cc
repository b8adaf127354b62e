// The request head and body framings the receiver reads, without sockets.
#include "receiver/http.h"

#include <gtest/gtest.h>

#include <random>

namespace convtrace::receiver::http {
namespace {

RequestHead parsed(std::string_view text, int* status = nullptr) {
  RequestHead head;
  size_t len = head_length(text);
  EXPECT_EQ(len, text.size()) << text;
  Refusal r = parse_head(text.substr(0, len), HeadLimits{}, &head);
  if (status) *status = r.status;
  return head;
}

TEST(HttpHead, FindsTheEndOfTheHeadAcrossLineEndings) {
  EXPECT_EQ(head_length("POST / HTTP/1.1\r\nHost: x\r\n"), 0u);
  EXPECT_EQ(head_length("POST / HTTP/1.1\r\nHost: x\r\n\r"), 0u);
  EXPECT_EQ(head_length("POST / HTTP/1.1\r\nHost: x\r\n\r\nBODY"), 28u);
  EXPECT_EQ(head_length("POST / HTTP/1.1\nHost: x\n\nBODY"), 25u);
  // Found again when searching resumes two bytes before the old end.
  std::string s = "GET / HTTP/1.1\r\nA: b\r\n";
  EXPECT_EQ(head_length(s + "\r\n", s.size() - 2), s.size() + 2);
}

TEST(HttpHead, ReadsMethodPathHeadersAndFraming) {
  int status = -1;
  RequestHead h = parsed(
      "POST http://collector:4318/v1/traces?x=1 HTTP/1.1\r\nHost: c\r\n"
      "Content-Type:  application/json \r\nContent-Length: 12\r\nCONNECTION: close\r\n"
      "Expect: 100-Continue\r\n\r\n",
      &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.path, "/v1/traces");
  EXPECT_EQ(h.header("content-type"), "application/json");
  EXPECT_EQ(h.framing, Framing::length);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.keep_alive);
  EXPECT_TRUE(h.expect_continue);

  h = parsed("POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(h.framing, Framing::chunked);
  EXPECT_TRUE(h.keep_alive);

  h = parsed("GET /v1/traces HTTP/1.0\r\n\r\n", &status);
  EXPECT_EQ(status, 0);
  EXPECT_FALSE(h.keep_alive) << "HTTP/1.0 closes unless asked";
  h = parsed("GET /v1/traces HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &status);
  EXPECT_TRUE(h.keep_alive);
  h = parsed("\r\nPOST /v1/traces HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &status);
  EXPECT_EQ(status, 0) << "an empty line before the request line is ignored";
  EXPECT_EQ(h.framing, Framing::none);
}

TEST(HttpHead, RefusesWhatIsAmbiguousOrTooLarge) {
  struct Case {
    std::string head;
    int status;
  };
  const std::string big_value(70 * 1024, 'x');
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  const std::vector<Case> cases = {
      {"BREW /v1/traces HTCPCP/1.0\r\n\r\n", 400},
      {"POST /v1/traces HTTP/2.0\r\n\r\n", 505},
      {"POST  /v1/traces HTTP/1.1\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST /v1/traces HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nBad Name: b\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
      {"POST /v1/traces HTTP/1.1\r\nA: " + big_value + "\r\n\r\n", 431},
      {"POST /v1/traces HTTP/1.1\r\n" + many + "\r\n", 431},
  };
  for (const Case& c : cases) {
    RequestHead head;
    Refusal r = parse_head(c.head, HeadLimits{}, &head);
    EXPECT_EQ(r.status, c.status) << c.head.substr(0, 80);
    EXPECT_FALSE(r.reason.empty());
  }
  RequestHead head;
  EXPECT_FALSE(
      parse_head("POST /v1/traces HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                 HeadLimits{}, &head))
      << "repeated equal lengths are one length";
}

// Feeds `encoded` to a decoder in pieces of random sizes.
std::string dechunk(const std::string& encoded, std::mt19937& rng, Refusal* refusal,
                    size_t* consumed, size_t max = 1 << 20) {
  ChunkedDecoder d(max);
  std::string body;
  size_t at = 0;
  while (at < encoded.size() && !d.done() && !*refusal) {
    size_t n = std::min<size_t>(1 + rng() % 7, encoded.size() - at);
    at += d.feed(std::string_view(encoded).substr(at, n), body, refusal);
  }
  *consumed = at;
  return d.done() ? body : "<not done>";
}

TEST(HttpChunked, DecodesAnySplitAndStopsAtTheEnd) {
  std::mt19937 rng(18);
  const std::string encoded =
      "5\r\nhello\r\n1;ext=\"a b\"\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (int round = 0; round < 200; ++round) {
    Refusal r;
    size_t consumed = 0;
    EXPECT_EQ(dechunk(encoded, rng, &r, &consumed), "hello 0123456789");
    EXPECT_FALSE(r);
    EXPECT_EQ(encoded.substr(consumed), "NEXT") << "the next request is left alone";
  }
  Refusal r;
  size_t consumed = 0;
  EXPECT_EQ(dechunk("3\nabc\n0\n\n", rng, &r, &consumed), "abc") << "bare LF line endings";
}

TEST(HttpChunked, RefusesBadFramingAndBodiesOverTheLimit) {
  std::mt19937 rng(18);
  struct Case {
    std::string encoded;
    int status;
  };
  const std::vector<Case> cases = {
      {"x\r\n", 400},
      {"\r\n", 400},
      {"3\r\nabcd\r\n", 400},
      {"1234567890123456\r\n", 413},
      {"20\r\n" + std::string(32, 'a') + "\r\n0\r\n\r\n", 413},  // limit below is 16
      {"0\r\n" + std::string(70000, 'x') + "\r\n\r\n", 431},
  };
  for (const Case& c : cases) {
    Refusal r;
    size_t consumed = 0;
    dechunk(c.encoded, rng, &r, &consumed, 16);
    EXPECT_EQ(r.status, c.status) << c.encoded.substr(0, 40);
  }
}

}  // namespace
}  // namespace convtrace::receiver::http
