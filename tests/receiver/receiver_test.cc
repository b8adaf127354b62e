// `convtrace collect` as a real process: encodings, bad requests, load, shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "receiver/collect_client.h"
#include "receiver/collect_process.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::CollectProcess;
using testing::gzip;
using testing::json_body;
using testing::kJson;
using testing::kProto;
using testing::make_spans;
using testing::post;
using testing::protobuf_body;
using testing::raw_status;
using testing::stored_spans;
using testing::TempDir;

TEST(Collect, AcceptsProtobufJsonGzipAndChunkedBodies) {
  TempDir dir;
  std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  std::string reply;
  EXPECT_EQ(post(collect.port(), protobuf_body(make_spans(1)), kProto, {}, &reply), 200);
  EXPECT_EQ(reply, "");  // an empty ExportTraceServiceResponse: full success
  EXPECT_EQ(post(collect.port(), json_body(make_spans(2)), kJson, {}, &reply), 200);
  EXPECT_EQ(reply, "{}");
  EXPECT_EQ(post(collect.port(), gzip(protobuf_body(make_spans(3))), kProto,
                 {{"Content-Encoding", "gzip"}}),
            200);
  EXPECT_EQ(post(collect.port(), gzip(json_body(make_spans(4))), "application/json; charset=utf-8",
                 {{"Content-Encoding", "gzip"}}),
            200);
  {
    // No length: httplib sends the body chunked.
    std::string body = protobuf_body(make_spans(5));
    httplib::Client client("127.0.0.1", collect.port());
    auto res = client.Post(
        "/v1/traces",
        [&](size_t offset, httplib::DataSink& sink) {
          size_t n = std::min<size_t>(7, body.size() - offset);
          sink.write(body.data() + offset, n);
          if (offset + n == body.size()) sink.done();
          return true;
        },
        kProto);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(collect.stop(), 0);
  auto store = Store::open(db);
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->span_count(), 15);
  auto trace = (*store)->load_trace(make_spans(4)[0].trace_id.hex());
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->size(), 3u);
  const auto* tags = find_attribute((*trace)[0].attributes, "app.custom");
  ASSERT_NE(tags, nullptr);
  EXPECT_TRUE(*tags == AttributeValue(std::vector<std::string>{"x", "y"}));
}

TEST(Collect, BadRequestsGetTheRightStatusAndTheReceiverKeepsServing) {
  TempDir dir;
  std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  int port = collect.port();
  ASSERT_EQ(post(port, protobuf_body(make_spans(1)), kProto), 200);

  std::string reply;
  EXPECT_EQ(post(port, std::string("\x0a\xff\xff\xff\x0fgarbage", 12), kProto, {}, &reply), 400);
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(reply[0], '\x08');  // google.rpc.Status.code
  EXPECT_EQ(reply[1], '\x03');  // INVALID_ARGUMENT
  EXPECT_EQ(post(port, "{\"resourceSpans\": [", kJson, {}, &reply), 400);
  // A google.rpc.Status in JSON: {"code":3,"message":"<escaped text>"}.
  EXPECT_EQ(reply.rfind("{\"code\":3,\"message\":\"", 0), 0u) << reply;
  EXPECT_GT(reply.size(), 25u) << reply;  // the message says what was wrong
  EXPECT_EQ(reply.substr(reply.size() - 2), "\"}") << reply;

  std::string zipped = gzip(protobuf_body(make_spans(2)));
  EXPECT_EQ(post(port, zipped.substr(0, zipped.size() / 2), kProto, {{"Content-Encoding", "gzip"}}),
            400);
  EXPECT_EQ(post(port, "not gzip at all", kProto, {{"Content-Encoding", "gzip"}}), 400);
  // 64 MiB of zeros inflate past the 16 MiB limit from a ~64 KiB body.
  std::string bomb = gzip(std::string(64u << 20, '\0'));
  ASSERT_LT(bomb.size(), 1u << 20);
  EXPECT_EQ(post(port, bomb, kProto, {{"Content-Encoding", "gzip"}}), 413);
  EXPECT_EQ(post(port, protobuf_body(make_spans(3)), "text/plain"), 415);
  EXPECT_EQ(post(port, protobuf_body(make_spans(3)), kProto, {{"Content-Encoding", "br"}}), 415);
  EXPECT_EQ(post(port, protobuf_body(make_spans(3)), kProto, {}, nullptr, "/v1/logs"), 404);
  {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/v1/traces");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
  }
  EXPECT_EQ(raw_status(port,
                       "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       "application/x-protobuf\r\nContent-Length: 999999999\r\n\r\n"),
            413);
  EXPECT_EQ(raw_status(port, "BREW /v1/traces HTCPCP/1.0\r\n\r\n"), 400);

  ASSERT_EQ(post(port, protobuf_body(make_spans(4)), kProto), 200);
  EXPECT_EQ(collect.stop(), 0);
  EXPECT_EQ(stored_spans(db), 6);
}

TEST(Collect, RequiresTheBearerTokenWhenOneIsSet) {
  TempDir dir;
  CollectProcess collect(dir.file("c.db"), {"--token", "s3cret"});
  ASSERT_GT(collect.port(), 0);
  std::string body = protobuf_body(make_spans(1));
  EXPECT_EQ(post(collect.port(), body, kProto), 401);
  EXPECT_EQ(post(collect.port(), body, kProto, {{"Authorization", "Bearer s3cre"}}), 401);
  EXPECT_EQ(post(collect.port(), body, kProto, {{"Authorization", "Bearer s3cret2"}}), 401);
  EXPECT_EQ(post(collect.port(), body, kProto, {{"Authorization", "Bearer s3cret"}}), 200);
}

TEST(Collect, HundredConcurrentClients) {
  TempDir dir;
  std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  constexpr int kClients = 100;
  std::atomic<int> ok{0};
  std::mutex failures_mu;
  std::vector<int> failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      bool json = i % 2 == 1;
      auto spans = make_spans(static_cast<uint32_t>(100 + i));
      int status = post(collect.port(), json ? json_body(spans) : protobuf_body(spans),
                        json ? kJson : kProto);
      if (status == 200) {
        ++ok;
      } else {
        std::lock_guard<std::mutex> lock(failures_mu);
        failures.push_back(status);
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients) << "first failure status " << (failures.empty() ? 0 : failures[0]);
  EXPECT_EQ(collect.stop(), 0);
  EXPECT_EQ(stored_spans(db), 3 * kClients);
}

TEST(Collect, SigtermDuringLoadKeepsEveryAcknowledgedRequest) {
  TempDir dir;
  std::string db = dir.file("c.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  std::mutex mu;
  std::condition_variable enough;
  std::vector<uint32_t> acked;  // guarded by mu
  std::atomic<uint32_t> next{1};
  std::atomic<bool> done{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 6; ++t) {
    senders.emplace_back([&] {
      httplib::Client client("127.0.0.1", collect.port());
      client.set_keep_alive(true);
      while (!done) {
        uint32_t seed = next++;
        auto res = client.Post("/v1/traces", protobuf_body(make_spans(seed)), kProto);
        if (!res) {
          // The server is gone: stop after a refused reconnect.
          auto again = httplib::Client("127.0.0.1", collect.port()).Post("/v1/traces", "", kProto);
          if (!again) return;
          continue;
        }
        if (res->status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back(seed);
          enough.notify_all();
        }
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        enough.wait_for(lock, std::chrono::seconds(30), [&] { return acked.size() >= 30; }));
  }
  EXPECT_EQ(collect.stop(SIGTERM), 0);
  done = true;
  for (auto& t : senders) t.join();

  auto store = Store::open(db);
  ASSERT_TRUE(store);
  for (uint32_t seed : acked) {
    auto trace = (*store)->load_trace(make_spans(seed)[0].trace_id.hex());
    ASSERT_TRUE(trace);
    EXPECT_EQ(trace->size(), 3u) << "acknowledged request " << seed << " is missing";
  }
}

}  // namespace
}  // namespace convtrace
