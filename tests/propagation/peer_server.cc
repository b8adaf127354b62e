// A second process for the two-process propagation test: a minimal HTTP/1.1
// server on POSIX sockets with its own in-memory SDK. (cpp-httplib's server
// is not used here: before 0.44 it percent-decodes request header values,
// which corrupts W3C baggage.) It prints its port on stdout, then for each
// GET /answer extracts the caller's headers, records a server span with an
// observed call inside, and answers with the spans it recorded, one per line:
//   name \t trace id \t span id \t parent span id \t parent remote (0/1) \t
//   conversation id \t user id \t turn \t workflow id \t workflow type
// GET /quit stops it.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "convtrace/convtrace.h"
#include "support/test_sdk.h"

namespace ct = convtrace;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Reads one request head; false on a closed or malformed connection.
bool read_request(int fd, std::string* target, Headers* headers) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0 || head.size() > (1u << 20)) return false;
    head.append(buf, static_cast<size_t>(n));
  }
  size_t line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
  *target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end + 2;
  while (true) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      headers->emplace_back(line.substr(0, colon), value);  // the raw value, as sent
    }
    pos = end + 2;
  }
  return true;
}

void respond(int fd, const std::string& body) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = write(fd, out.data() + sent, out.size() - sent);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string handle_answer(ct::testing::TestSdk& sdk, const Headers& headers) {
  {
    auto attached = ct::attach(ct::extract(headers));
    ct::StartOptions options;
    options.span_kind = ct::SpanKind::server;
    ct::Span handler = ct::start_span("GET /answer", options);
    auto active = handler.activate();
    ct::observe({"rerank", ct::Kind::llm}, [] {});
  }
  std::string body;
  for (const ct::SpanData& s : sdk.spans()) {
    body += s.name + "\t" + s.trace_id.hex() + "\t" + s.span_id.hex() + "\t" +
            s.parent_span_id.hex() + "\t" + (s.parent_is_remote ? "1" : "0") + "\t" +
            ct::testing::str_attr(s, ct::attr::kConversationId) + "\t" +
            ct::testing::str_attr(s, ct::attr::kUserId) + "\t" +
            std::to_string(ct::testing::int_attr(s, ct::attr::kConversationTurn)) + "\t" +
            ct::testing::str_attr(s, ct::attr::kWorkflowId) + "\t" +
            ct::testing::str_attr(s, ct::attr::kWorkflowType) + "\n";
  }
  sdk.exporter->clear();
  return body;
}

}  // namespace

int main() {
  ct::testing::TestSdk sdk(ct::testing::sync_config());
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // ephemeral
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 8) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 1;
  }
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  bool running = true;
  while (running) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) return 2;
    std::string target;
    Headers headers;
    if (read_request(fd, &target, &headers)) {
      if (target == "/answer") {
        respond(fd, handle_answer(sdk, headers));
      } else {
        respond(fd, "bye");
        running = target != "/quit";
      }
    }
    close(fd);
  }
  close(listener);
  return 0;
}
