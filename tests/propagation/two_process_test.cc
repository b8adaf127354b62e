// A client and a server in two real processes: the test starts
// propagation_peer_server (an HTTP server with its own SDK) on an ephemeral
// port, calls it with injected headers, and checks that the server's spans
// continue the client's trace, conversation, turn and workflow.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "convtrace/convtrace.h"
#include "support/test_sdk.h"

extern char** environ;

namespace convtrace {
namespace {

// The peer process; killed when the test ends, whatever happened.
class Peer {
 public:
  Peer() {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char* argv[] = {const_cast<char*>(CONVTRACE_PEER_SERVER), nullptr};
    if (posix_spawn(&pid_, CONVTRACE_PEER_SERVER, &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    // The first line on its stdout is the port (10 s at most).
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    while (pid_ > 0 && line.find('\n') == std::string::npos && poll(&p, 1, 10000) > 0) {
      char buf[64];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    port_ = std::atoi(line.c_str());
  }
  ~Peer() {
    if (pid_ <= 0) return;
    if (port_ > 0) httplib::Client("127.0.0.1", port_).Get("/quit");
    int status = 0;
    for (int i = 0; i < 50 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(20000);
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

struct PeerSpan {
  std::string name, trace_id, span_id, parent_id, remote, conversation, user, turn, workflow,
      workflow_type;
};

std::map<std::string, PeerSpan> parse_spans(const std::string& body) {
  std::map<std::string, PeerSpan> spans;
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    if (f.size() != 10) continue;
    spans[f[0]] = PeerSpan{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]};
  }
  return spans;
}

TEST(TwoProcesses, ServerContinuesTheClientsTraceAndConversation) {
  Peer peer;
  ASSERT_GT(peer.port(), 0) << "the peer server did not start";
  testing::TestSdk client(testing::sync_config());

  std::string body;
  SpanContext call_span;
  {
    auto conv = conversation("conv two-process, ünïcode; 100%", {"user=42"});
    observe({"earlier question", Kind::llm}, [] {});  // turn 1
    observe({"earlier question", Kind::llm}, [] {});  // turn 2
    auto wf = workflow("wf-7", "rag_v2");             // turn 3
    observe({"ask server", Kind::tool}, [&](Span& span) {
      call_span = span.context();
      httplib::Headers headers;  // a case-insensitive std::multimap
      inject(headers);
      httplib::Client http("127.0.0.1", peer.port());
      http.set_read_timeout(10, 0);
      auto result = http.Get("/answer", headers);
      ASSERT_TRUE(result) << "request failed: " << httplib::to_string(result.error());
      ASSERT_EQ(result->status, 200);
      body = result->body;
    });
  }

  auto spans = parse_spans(body);
  ASSERT_EQ(spans.count("GET /answer"), 1u) << body;
  ASSERT_EQ(spans.count("rerank"), 1u) << body;
  const PeerSpan& handler = spans["GET /answer"];
  const PeerSpan& rerank = spans["rerank"];
  EXPECT_EQ(handler.trace_id, call_span.trace_id.hex());
  EXPECT_EQ(handler.parent_id, call_span.span_id.hex());
  EXPECT_EQ(handler.remote, "1");
  EXPECT_EQ(rerank.trace_id, call_span.trace_id.hex());
  EXPECT_EQ(rerank.parent_id, handler.span_id);
  EXPECT_EQ(rerank.remote, "0");
  for (const PeerSpan* s : {&handler, &rerank}) {
    SCOPED_TRACE(s->name);
    EXPECT_EQ(s->conversation, "conv two-process, ünïcode; 100%");
    EXPECT_EQ(s->user, "user=42");
    EXPECT_EQ(s->turn, "3");
    EXPECT_EQ(s->workflow, "wf-7");
    EXPECT_EQ(s->workflow_type, "rag_v2");
  }
  const auto& local = client.spans();
  const SpanData* ask = testing::only(local, "execute_tool ask server");
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(testing::int_attr(*ask, attr::kConversationTurn), 3);
}

}  // namespace
}  // namespace convtrace
