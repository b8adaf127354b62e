// B8: `convtrace collect` ingest. The receiver behind the command (same
// options, OTLP decoder and SQLite store) serves 127.0.0.1 on a free port;
// client threads post protobuf ExportTraceServiceRequests of 512 GenAI spans
// (21 attributes each) over keep-alive connections until a span count or a
// time limit is reached. The figure is spans committed to the store per second.
//
//   convtrace_bench_collect [--spans=N] [--seconds=S] [--clients=C]
//   convtrace_bench_collect --db=URI --collectors=K [--cli=PATH] [...]
//
// Every request carries new trace ids, so every span is written. The load
// generator runs in the same process and on the same cores as the receiver;
// the process CPU time printed covers both.
//
// B14, with --collectors: K real `convtrace collect --db URI` processes (a
// PostgreSQL database, or one SQLite file) take the requests, the clients
// spread over them; the figure is spans committed per second by all of them
// (the database server's CPU is not in the CPU figure).
//
// --traffic: `one` (B8's default) puts every span in one conversation, one
// workflow run and one user; `team` (B14's default) gives each request about
// 100 conversations, 256 runs and up to 100 of 20,000 users, each request a
// millisecond later than the one before, as a team's traffic would be, so
// concurrent collectors do not all rewrite one conversation's summary. Trace
// ids carry a number of their own per run, so runs into the same database
// store new spans.
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "convtrace/store.h"
#include "genai_spans.h"
#include "otlp/otlp_proto.h"
#include "receiver/receiver.h"

namespace convtrace::bench {
namespace {

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// An encoded request whose ids can be renewed in place: the offsets of the
// 16 trace-id bytes of each span in the body and, for team traffic, of the
// digits of its conversation, run and user ids.
struct RequestTemplate {
  std::string body;
  std::vector<size_t> trace_id_offsets;
  struct Digits {
    size_t conversation = 0, run = 0, user = 0;
    size_t start = 0, end = 0;  // the fixed64 start and end times
    uint64_t start_ns = 0, end_ns = 0;
  };
  std::vector<Digits> digits;  // empty for traffic `one`
};

constexpr size_t kIdDigits = 12;
constexpr uint64_t kTeamUsers = 20000;

std::string padded(uint64_t v) {
  std::string d(kIdDigits, '0');
  for (size_t i = kIdDigits; i-- > 0; v /= 10) d[i] = static_cast<char>('0' + v % 10);
  return d;
}

void set_text(std::vector<Attribute>& attrs, std::string_view key, std::string value) {
  for (Attribute& a : attrs) {
    if (a.key == key) a.value = std::move(value);
  }
}

size_t find_or_exit(const std::string& body, const std::string& needle, size_t from) {
  size_t at = body.find(needle, from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "bench: an id of a span was not found in the encoded request\n");
    std::exit(2);
  }
  return at;
}

std::string fixed64(uint64_t v) {
  std::string b(8, '\0');
  for (size_t i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  return b;
}

RequestTemplate make_template(bool team) {
  Batch batch = make_batch(true);
  // Bytes 0..7 become the request number, bytes 8..9 the span's index, bytes
  // 10..15 this run's number: unique across requests, within one, and across
  // runs into one database.
  uint64_t run_number = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count() ^ (uint64_t(getpid()) << 40));
  for (size_t i = 0; i < batch.spans.size(); ++i) {
    SpanData& span = batch.spans[i];
    uint8_t* id = span.trace_id.bytes.data();
    for (size_t b = 0; b < 8; ++b) id[b] = 0;
    id[8] = static_cast<uint8_t>(i);
    id[9] = static_cast<uint8_t>(i >> 8);
    for (size_t b = 10; b < 16; ++b) id[b] = static_cast<uint8_t>(run_number >> (8 * (b - 10)));
    if (team) {
      // Placeholders unique to the span, rewritten for each request.
      set_text(span.attributes, attr::kConversationId, "conv_" + padded(i));
      set_text(span.attributes, attr::kWorkflowId, "run_" + padded(i));
      set_text(span.attributes, attr::kUserId, "user_" + padded(i));
    }
  }
  RequestTemplate t;
  t.body = otlp::encode_trace_request(batch.view());
  size_t from = 0;
  for (size_t i = 0; i < batch.spans.size(); ++i) {
    // Span.trace_id is field 1, length-delimited: tag 0x0a, length 0x10.
    std::string needle = "\x0a\x10";
    needle.append(reinterpret_cast<const char*>(batch.spans[i].trace_id.bytes.data()), 16);
    size_t at = find_or_exit(t.body, needle, from);
    t.trace_id_offsets.push_back(at + 2);
    from = at + needle.size();
    if (team) {
      RequestTemplate::Digits d;
      d.conversation = find_or_exit(t.body, "conv_" + padded(i), from) + 5;
      d.run = find_or_exit(t.body, "run_" + padded(i), from) + 4;
      d.user = find_or_exit(t.body, "user_" + padded(i), from) + 5;
      // Span.start_time_unix_nano is field 7 and end_time_unix_nano field 8,
      // both fixed64: tags 0x39 and 0x41, then the little-endian time.
      const SpanData& span = batch.spans[i];
      d.start_ns = span.start_unix_nano;
      d.end_ns = span.end_unix_nano;
      d.start = find_or_exit(t.body, "\x39" + fixed64(d.start_ns), from) + 1;
      d.end = find_or_exit(t.body, "\x41" + fixed64(d.end_ns), from) + 1;
      t.digits.push_back(d);
    }
  }
  return t;
}

// Writes request `n`'s ids into `body`.
void renew(const RequestTemplate& t, uint64_t n, std::string& body) {
  for (size_t i = 0; i < t.trace_id_offsets.size(); ++i) {
    size_t at = t.trace_id_offsets[i];
    for (size_t b = 0; b < 8; ++b) body[at + b] = static_cast<char>(n >> (8 * b));
  }
  for (size_t i = 0; i < t.digits.size(); ++i) {
    // About five spans a conversation, two a run, a user per conversation.
    const uint64_t conversation = n * (kBatch / 5 + 1) + i / 5;
    const uint64_t user = (conversation * 0x9E3779B97F4A7C15ULL >> 20) % kTeamUsers;
    const RequestTemplate::Digits& d = t.digits[i];
    body.replace(d.conversation, kIdDigits, padded(conversation));
    body.replace(d.run, kIdDigits, padded(n * (kBatch / 2) + i / 2));
    body.replace(d.user, kIdDigits, padded(user));
    // Time goes on: each request a millisecond after the one before.
    body.replace(d.start, 8, fixed64(d.start_ns + n * 1'000'000));
    body.replace(d.end, 8, fixed64(d.end_ns + n * 1'000'000));
  }
}

struct Load {
  uint64_t posted_spans = 0, failures = 0;
  double seconds = 0;
};

// Posts requests from `clients` keep-alive connections spread over `ports`
// until `max_spans` or `max_seconds`.
Load drive(const std::vector<int>& ports, uint64_t max_spans, uint64_t max_seconds,
           unsigned clients, bool team) {
  const RequestTemplate tmpl = make_template(team);
  std::atomic<uint64_t> next_request{0}, posted_spans{0}, failures{0};
  const uint64_t max_requests = (max_spans + kBatch - 1) / kBatch;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds(max_seconds);
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", ports[c % ports.size()]);
      client.set_keep_alive(true);
      client.set_read_timeout(60, 0);
      std::string body = tmpl.body;
      while (std::chrono::steady_clock::now() < deadline) {
        uint64_t n = next_request.fetch_add(1) + 1;
        if (n > max_requests) break;
        renew(tmpl, n, body);
        auto res = client.Post("/v1/traces", body, "application/x-protobuf");
        if (!res || res->status != 200) {
          ++failures;
          continue;
        }
        posted_spans += kBatch;
      }
    });
  }
  for (auto& t : threads) t.join();
  Load load;
  load.posted_spans = posted_spans.load();
  load.failures = failures.load();
  load.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return load;
}

// Starts `convtrace collect --db DB` on a free port; its pid and port.
std::pair<pid_t, int> spawn_collect(const std::string& cli, const std::string& db) {
  int out[2];
  if (pipe(out) != 0) return {-1, 0};
  std::vector<std::string> args = {cli, "collect", "--listen", "127.0.0.1:0", "--db", db};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos && read(out[0], &c, 1) == 1) line += c;
  close(out[0]);
  size_t colon = line.rfind(':');
  return {pid, colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1)};
}

int run_collectors(uint64_t max_spans, uint64_t max_seconds, unsigned clients,
                   const std::string& db, unsigned collectors, const std::string& cli, bool team) {
  int64_t before = 0;
  {
    auto store = Store::open(db);
    if (!store) {
      std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
      return 2;
    }
    before = *(*store)->span_count();
  }
  std::vector<pid_t> pids;
  std::vector<int> ports;
  for (unsigned i = 0; i < collectors; ++i) {
    auto [pid, port] = spawn_collect(cli, db);
    if (pid <= 0 || port <= 0) {
      std::fprintf(stderr, "bench: cannot start %s collect\n", cli.c_str());
      return 2;
    }
    pids.push_back(pid);
    ports.push_back(port);
  }
  Load load = drive(ports, max_spans, max_seconds, std::max(clients, collectors), team);
  for (pid_t pid : pids) kill(pid, SIGTERM);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  double cpu = static_cast<double>(children.ru_utime.tv_sec + children.ru_stime.tv_sec) +
               static_cast<double>(children.ru_utime.tv_usec + children.ru_stime.tv_usec) / 1e6;
  auto store = Store::open(db);
  int64_t committed = store ? *(*store)->span_count() - before : -1;
  std::printf(
      "B14 collectors=%u store=%s traffic=%s clients=%u spans=%lld seconds=%.3f spans_per_s=%.0f "
      "failures=%llu collectors_cpu_per_span_us=%.2f\n",
      collectors, store ? std::string((*store)->backend_name()).c_str() : "?",
      team ? "team" : "one", std::max(clients, collectors), static_cast<long long>(committed),
      load.seconds, static_cast<double>(committed) / load.seconds,
      static_cast<unsigned long long>(load.failures),
      committed > 0 ? cpu * 1e6 / static_cast<double>(committed) : 0.0);
  return committed == static_cast<int64_t>(load.posted_spans) ? 0 : 1;
}

int run(uint64_t max_spans, uint64_t max_seconds, unsigned clients, bool team) {
  char pattern[] = "/tmp/convtrace-bench-XXXXXX";
  char* dir = mkdtemp(pattern);
  if (!dir) {
    std::perror("bench: mkdtemp");
    return 2;
  }
  std::string path = std::string(dir) + "/collect.db";
  int rc = 0;
  {
    auto store = Store::open(path);
    if (!store) {
      std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
      return 2;
    }
    receiver::ReceiverOptions options;  // as `convtrace collect` sets them
    options.port = 0;
    auto server = receiver::Receiver::start(options, store->get(),
                                            receiver::otlp_decoder(options.max_body_bytes));
    if (!server) {
      std::fprintf(stderr, "bench: %s\n", server.error().message.c_str());
      return 2;
    }
    int port = (*server)->port();
    const RequestTemplate tmpl = make_template(team);
    double cpu_start = process_cpu_seconds();
    Load load = drive({port}, max_spans, max_seconds, clients, team);
    double seconds = load.seconds;
    double cpu = process_cpu_seconds() - cpu_start;
    uint64_t failures = load.failures;
    (*server)->stop();
    receiver::ReceiverStats stats = (*server)->stats();
    auto stored = (*store)->span_count();
    int64_t committed = stored ? *stored : -1;
    if (committed != static_cast<int64_t>(load.posted_spans)) rc = 1;
    std::printf(
        "B8 traffic=%s clients=%u spans=%lld seconds=%.3f spans_per_s=%.0f requests=%llu "
        "rejected=%llu "
        "failures=%llu request_bytes=%zu process_cpu_s=%.3f cpu_per_span_us=%.2f\n",
        team ? "team" : "one", clients, static_cast<long long>(committed), seconds,
        static_cast<double>(committed) / seconds, static_cast<unsigned long long>(stats.requests),
        static_cast<unsigned long long>(stats.rejected), static_cast<unsigned long long>(failures),
        tmpl.body.size(), cpu, committed > 0 ? cpu * 1e6 / static_cast<double>(committed) : 0.0);
    if (rc)
      std::fprintf(stderr, "bench: %lld spans stored, %llu acknowledged\n",
                   static_cast<long long>(committed),
                   static_cast<unsigned long long>(load.posted_spans));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  rmdir(dir);
  return rc;
}

}  // namespace
}  // namespace convtrace::bench

int main(int argc, char** argv) {
  uint64_t spans = convtrace::bench::flag_value(argc, argv, "--spans", 300000);
  uint64_t seconds = convtrace::bench::flag_value(argc, argv, "--seconds", 20);
  auto clients = static_cast<unsigned>(convtrace::bench::flag_value(argc, argv, "--clients", 4));
  auto collectors =
      static_cast<unsigned>(convtrace::bench::flag_value(argc, argv, "--collectors", 0));
  std::string traffic =
      convtrace::bench::flag_text(argc, argv, "--traffic", collectors > 0 ? "team" : "one");
  if (traffic != "one" && traffic != "team") {
    std::fprintf(stderr, "bench: --traffic is one or team, not %s\n", traffic.c_str());
    return 2;
  }
  const bool team = traffic == "team";
  if (collectors > 0) {
    std::string db = convtrace::bench::flag_text(argc, argv, "--db", "");
    std::string cli = convtrace::bench::flag_text(argc, argv, "--cli", CONVTRACE_CLI);
    if (db.empty()) {
      std::fprintf(stderr, "bench: --collectors needs --db\n");
      return 2;
    }
    return convtrace::bench::run_collectors(spans, seconds, clients, db, collectors, cli, team);
  }
  return convtrace::bench::run(spans, seconds, clients == 0 ? 1 : clients, team);
}
