// `convtrace collect` against slow, idle and hostile clients, as a real
// process on 127.0.0.1: trickling heads (slowloris) and bodies, thousands of
// idle connections, connection caps per client and in total, the token
// checked before the body, idle kept-alive connections, and spans whose
// times the store cannot hold. Every wait is bounded.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "convtrace/otlp.h"
#include "otlp/sample_spans.h"
#include "receiver/collect_client.h"
#include "receiver/collect_process.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::closed_within;
using testing::CollectProcess;
using testing::connect_from;
using testing::kProto;
using testing::make_spans;
using testing::protobuf_body;
using testing::raw_post;
using testing::read_response;
using testing::send_all;
using testing::status_of;
using testing::TempDir;

constexpr const char* kPartialHead = "POST /v1/traces HTTP/1.1\r\nHost: slow\r\n";

// cpp-httplib's client writes without MSG_NOSIGNAL: a request the server
// refuses (and closes) must fail the request, not kill the test.
const bool kSigpipeIgnored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

// A normal client's request: its status, and how long the answer took.
struct Timed {
  int status = 0;
  std::chrono::milliseconds took{0};
};

Timed timed_post(int port, uint32_t seed) {
  auto start = Clock::now();
  int status = testing::post(port, protobuf_body(make_spans(seed)), kProto);
  return Timed{status, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
}

// Sends a complete request on a fresh connection from `local_ip`; the status.
int post_from(int port, const char* local_ip, uint32_t seed) {
  int fd = connect_from(port, local_ip);
  if (fd < 0) return -1;
  send_all(fd, raw_post(protobuf_body(make_spans(seed))));
  int status = status_of(read_response(fd, 10s));
  close(fd);
  return status;
}

size_t open_descriptors(pid_t pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

TEST(CollectLimits, SlowlorisDoesNotDelayOtherClients) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--header-timeout", "3"});
  ASSERT_GT(collect.port(), 0);
  // 200 connections trickling one header line every 100 ms, never ending their heads.
  constexpr int kSlow = 200;
  std::vector<int> slow;
  for (int i = 0; i < kSlow; ++i) {
    int fd = connect_from(collect.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, kPartialHead));
    slow.push_back(fd);
  }
  auto opened = Clock::now();
  std::atomic<bool> trickle{true};
  std::thread trickler([&] {
    for (int line = 0; trickle && line < 100; ++line) {
      for (int fd : slow) send_all(fd, "X-Line-" + std::to_string(line) + ": y\r\n");
      std::this_thread::sleep_for(100ms);
    }
  });
  // Meanwhile normal clients are answered, each within a second.
  for (uint32_t i = 0; i < 20; ++i) {
    Timed t = timed_post(collect.port(), 100 + i);
    EXPECT_EQ(t.status, 200) << "request " << i;
    EXPECT_LT(t.took, 1000ms) << "request " << i;
  }
  EXPECT_LT(Clock::now() - opened, 3s) << "the normal requests ran while the heads trickled";
  // The trickling heads are cut at the header deadline, however steady.
  for (int fd : slow) {
    std::string reply = read_response(fd, 10s);
    EXPECT_EQ(status_of(reply), 408) << reply.substr(0, 80);
    EXPECT_TRUE(closed_within(fd, 5s));
  }
  EXPECT_LT(Clock::now() - opened, 10s);
  trickle = false;
  trickler.join();
  for (int fd : slow) close(fd);
  EXPECT_EQ(collect.stop(), 0);
}

TEST(CollectLimits, ThousandsOfIdleConnectionsCannotLockOutClients) {
  // Client and server are separate processes; this one holds the idle
  // connections, so its own descriptor limit sizes the test.
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const int idle_count = static_cast<int>(std::min<rlim_t>(3000, lim.rlim_cur - 100));
  ASSERT_GE(idle_count, 900) << "descriptor limit " << lim.rlim_cur << " is too low for the test";
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--max-connections", "500", "--header-timeout", "60"});
  ASSERT_GT(collect.port(), 0);
  std::vector<int> idle;
  for (int i = 0; i < idle_count; ++i) {
    int fd = connect_from(collect.port());  // and then nothing
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  for (uint32_t i = 0; i < 10; ++i) {
    Timed t = timed_post(collect.port(), 200 + i);
    EXPECT_EQ(t.status, 200) << "request " << i;
    EXPECT_LT(t.took, 1000ms) << "request " << i;
  }
  // The cap holds: 500 connections, the refused ones lingering briefly.
  EXPECT_LE(open_descriptors(collect.pid()), 500u + 320u);
  // Every idle connection past the cap was answered 503 or closed.
  int turned_away = 0;
  for (int fd : idle) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1) ++turned_away;
  }
  EXPECT_GE(turned_away, idle_count - 500);
  for (int fd : idle) close(fd);
  EXPECT_EQ(collect.stop(), 0);
}

TEST(CollectLimits, ASlowBodyIsCutAtTheBodyDeadline) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--body-timeout", "1"});
  ASSERT_GT(collect.port(), 0);
  int fd = connect_from(collect.port());
  ASSERT_GE(fd, 0);
  std::string body = protobuf_body(make_spans(1));
  ASSERT_TRUE(send_all(fd, raw_post(body).substr(0, raw_post(body).size() - body.size())));
  auto start = Clock::now();
  std::atomic<bool> trickle{true};
  std::thread trickler([&] {
    for (size_t i = 0; trickle && i < body.size() - 1; ++i) {  // never the last byte
      if (!send_all(fd, body.substr(i, 1))) break;
      std::this_thread::sleep_for(50ms);
    }
  });
  Timed normal = timed_post(collect.port(), 2);
  EXPECT_EQ(normal.status, 200);
  EXPECT_LT(normal.took, 1000ms);
  std::string reply = read_response(fd, 10s);
  auto took = Clock::now() - start;
  EXPECT_EQ(status_of(reply), 408) << reply;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 5s);
  trickle = false;
  trickler.join();
  close(fd);
  EXPECT_EQ(collect.stop(), 0);
  EXPECT_EQ(testing::stored_spans(dir.file("c.db")), 3) << "only the normal request";
}

TEST(CollectLimits, TheTokenIsCheckedBeforeAnyBodyIsRead) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--token", "s3cret"});
  ASSERT_GT(collect.port(), 0);
  const std::string body = protobuf_body(make_spans(1));
  const std::string head_only =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: 10000000\r\n";
  {
    // A 10 MB body announced, none sent: the answer comes from the head alone.
    int fd = connect_from(collect.port());
    ASSERT_TRUE(send_all(fd, head_only + "Authorization: Bearer wrong\r\n\r\n"));
    std::string reply = read_response(fd, 5s);
    EXPECT_EQ(status_of(reply), 401) << reply;
    EXPECT_NE(reply.find("WWW-Authenticate: Bearer"), std::string::npos);
    EXPECT_TRUE(closed_within(fd, 5s));
    close(fd);
  }
  {
    // Expect: 100-continue with a wrong token: refused, never invited to send.
    int fd = connect_from(collect.port());
    ASSERT_TRUE(send_all(fd, head_only + "Expect: 100-continue\r\n\r\n"));
    EXPECT_EQ(status_of(read_response(fd, 5s)), 401);
    close(fd);
  }
  {
    // With the token: invited, then stored.
    int fd = connect_from(collect.port());
    std::string request =
        raw_post(body, "Authorization: Bearer s3cret\r\nExpect: 100-continue\r\n");
    ASSERT_TRUE(send_all(fd, request.substr(0, request.size() - body.size())));
    EXPECT_EQ(status_of(read_response(fd, 5s)), 100);
    ASSERT_TRUE(send_all(fd, body));
    EXPECT_EQ(status_of(read_response(fd, 5s)), 200);
    close(fd);
  }
  EXPECT_EQ(collect.stop(), 0);
}

TEST(CollectLimits, ConnectionCapsPerClientAndInTotal) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"),
                         {"--max-connections", "6", "--max-connections-per-client", "3"});
  ASSERT_GT(collect.port(), 0);
  // Three connections from 127.0.0.1 in the middle of a head (not idle, so
  // not displaceable): a fourth from that address is turned away...
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect_from(collect.port()));
    ASSERT_TRUE(send_all(held.back(), kPartialHead));
  }
  int fourth = connect_from(collect.port());
  std::string reply = read_response(fourth, 5s);
  EXPECT_EQ(status_of(reply), 503) << reply;
  EXPECT_NE(reply.find("Retry-After: 1"), std::string::npos);
  close(fourth);
  // ... while another address is served.
  EXPECT_EQ(post_from(collect.port(), "127.0.0.2", 1), 200);
  // Three more from a third address fill the total cap of six.
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect_from(collect.port(), "127.0.0.3"));
    ASSERT_TRUE(send_all(held.back(), kPartialHead));
  }
  int over = connect_from(collect.port(), "127.0.0.4");
  EXPECT_EQ(status_of(read_response(over, 5s)), 503);
  close(over);
  // A slot freed is a slot usable again (the close reaches the server a
  // little later: bounded retries).
  close(held[0]);
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    status = post_from(collect.port(), "127.0.0.1", 2);
    if (status != 200) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200);
  for (size_t i = 1; i < held.size(); ++i) close(held[i]);
  EXPECT_EQ(collect.stop(), 0);
}

TEST(CollectLimits, KeptAliveConnectionsAreReusedAndClosedWhenIdle) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--idle-timeout", "1"});
  ASSERT_GT(collect.port(), 0);
  int fd = connect_from(collect.port());
  ASSERT_TRUE(send_all(fd, raw_post(protobuf_body(make_spans(1)))));
  EXPECT_EQ(status_of(read_response(fd, 5s)), 200);
  ASSERT_TRUE(send_all(fd, raw_post(protobuf_body(make_spans(2)))));
  EXPECT_EQ(status_of(read_response(fd, 5s)), 200) << "the same connection serves again";
  auto idle_since = Clock::now();
  EXPECT_TRUE(closed_within(fd, 5s));
  EXPECT_GE(Clock::now() - idle_since, 900ms);
  close(fd);
  EXPECT_EQ(collect.stop(), 0);
}

TEST(CollectLimits, SpansWithTimesTheStoreCannotHoldAreRefusedByName) {
  TempDir dir;
  const std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  auto spans = make_spans(7, 3);
  spans[1].start_unix_nano = 9223372036854775808ULL;  // 2262-04-11T23:47:16.854775808Z
  spans[2].events.push_back(SpanEvent{"late", ~uint64_t{0}, {}, 0});
  std::string reply;
  EXPECT_EQ(testing::post(collect.port(), protobuf_body(spans), kProto, {}, &reply), 200);
  auto partial = otlp::decode_trace_response(reply);
  ASSERT_TRUE(partial) << partial.error().message;
  EXPECT_EQ(partial->rejected_spans, 2);
  EXPECT_NE(partial->error_message.find("start_time_unix_nano 9223372036854775808"),
            std::string::npos)
      << partial->error_message;
  EXPECT_NE(partial->error_message.find("2262-04-11T23:47:16.854775807Z"), std::string::npos);
  // Nothing storable at all: 400, naming the field.
  auto late = make_spans(8, 1);
  late[0].end_unix_nano = ~uint64_t{0};
  EXPECT_EQ(testing::post(collect.port(), testing::json_body(late), testing::kJson, {}, &reply),
            400);
  EXPECT_NE(reply.find("end_time_unix_nano 18446744073709551615"), std::string::npos) << reply;
  EXPECT_EQ(collect.stop(), 0);
  EXPECT_EQ(testing::stored_spans(db), 1);
}

#ifdef CONVTRACE_WITH_GRPC
TEST(CollectLimits, TheGrpcListenerRefusesTheSameSpansByName) {
  TempDir dir;
  const std::string db = dir.file("c.db");
  CollectProcess collect(db, {"--grpc", "127.0.0.1:0"});
  ASSERT_GT(collect.grpc_port(), 0);
  OtlpHttpOptions o;
  o.protocol = OtlpHttpOptions::Protocol::grpc;
  o.endpoint = "http://127.0.0.1:" + std::to_string(collect.grpc_port());
  o.timeout = std::chrono::seconds(20);
  auto exporter = make_otlp_http_exporter(o);
  ASSERT_TRUE(exporter) << exporter.error().message;
  auto spans = make_spans(10, 2);
  spans[1].start_unix_nano = ~uint64_t{0};
  auto ptrs = convtrace::testing::pointers(spans);
  // One stored, one refused in the partial success (not retried).
  EXPECT_EQ((*exporter)->export_batch(SpanBatch(ptrs.data(), ptrs.size())), ExportResult::success);
  auto stats = otlp_exporter_stats(**exporter);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->partial_success_rejected, 1u);
  EXPECT_EQ(stats->retries, 0u);
  // Nothing storable: INVALID_ARGUMENT, which is not retried either.
  EXPECT_EQ((*exporter)->export_batch(SpanBatch(ptrs.data() + 1, 1)), ExportResult::failure);
  EXPECT_EQ(otlp_exporter_stats(**exporter)->retries, 0u);
  EXPECT_EQ(collect.stop(), 0);
  EXPECT_EQ(testing::stored_spans(db), 1);
}
#endif

TEST(CollectLimits, InvalidUtf8FromOtherSdksIsStoredRepaired) {
  TempDir dir;
  const std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  auto spans = make_spans(9, 1);
  spans[0].attributes[0].value = std::string("conv-\xff\xfe-x");  // gen_ai.conversation.id
  spans[0].name = "name \xC3";
  EXPECT_EQ(testing::post(collect.port(), protobuf_body(spans), kProto), 200);
  EXPECT_EQ(collect.stop(), 0);
  auto store = Store::open(db);
  ASSERT_TRUE(store);
  auto conv = (*store)->conversation("conv-\xEF\xBF\xBD\xEF\xBF\xBD-x");
  ASSERT_TRUE(conv) << conv.error().message;
  ASSERT_EQ(conv->turns.size(), 1u);
  EXPECT_EQ(conv->turns[0].spans.at(0).name, "name \xEF\xBF\xBD");
}

}  // namespace
}  // namespace convtrace
