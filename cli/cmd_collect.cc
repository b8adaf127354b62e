// `convtrace collect`: an OTLP/HTTP endpoint that stores the spans it receives.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "convtrace/diagnostics.h"
#include "receiver/receiver.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "collect";

struct CollectOptions {
  std::string listen = "127.0.0.1:4318";
  std::string grpc;  // HOST:PORT of the OTLP/gRPC listener; empty: none
  std::string token;
  std::string db;
  size_t max_body_mib = 16;
  double header_timeout_s = 10;
  double body_timeout_s = 30;
  double idle_timeout_s = 15;
  size_t max_connections = 1024;
  bool max_connections_given = false;
  size_t max_connections_per_client = 256;
  std::string pricing;
  std::string retention;
};

// Prunes what is older than the retention at start and then every hour, on a
// connection of its own (so that storing goes on meanwhile) until stopped.
class Retention {
 public:
  Retention(std::unique_ptr<Store> store, int64_t days)
      : store_(std::move(store)), days_(days), thread_([this] { loop(); }) {}
  ~Retention() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto result = store_->prune(keep_days_cutoff(days_));
      if (!result) {
        std::cerr << "convtrace collect: retention: " << result.error().message << std::endl;
      } else if (result->spans > 0) {
        std::cerr << "convtrace collect: retention removed " << result->spans
                  << " span(s) that started before " << format_time(result->before_unix_nano)
                  << " UTC" << std::endl;
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::hours(1), [this] { return stop_; });
    }
  }

  std::unique_ptr<Store> store_;
  int64_t days_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // guarded by mu_
  std::thread thread_;  // last: starts once the rest is set
};

// File descriptors beyond the connections: the store, the refused
// connections that linger briefly (http_server.cc), the process's own.
constexpr rlim_t kSpareDescriptors = 320;

std::chrono::milliseconds seconds_option(const char* name, double seconds) {
  // A time argument: range-checked, never wrapped or truncated to zero.
  if (!(seconds >= 0.001 && seconds <= 3600)) {
    fail(kCommand, std::string(name) + " must be 0.001..3600 seconds", kExitBadInput);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000 + 0.5));
}

// Raises the soft file-descriptor limit so --max-connections can be served;
// with a hard limit too low, an explicit --max-connections fails and the
// default is lowered to fit (and said).
void fit_descriptors(const CollectOptions& opt, size_t* max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = static_cast<rlim_t>(*max_connections) + kSpareDescriptors;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= want) return;
  size_t fits = lim.rlim_cur > kSpareDescriptors + 1 ? lim.rlim_cur - kSpareDescriptors : 1;
  std::string limit = std::to_string(static_cast<unsigned long long>(lim.rlim_cur));
  if (opt.max_connections_given) {
    fail(kCommand,
         "--max-connections " + std::to_string(*max_connections) + " needs " +
             std::to_string(static_cast<unsigned long long>(want)) +
             " file descriptors; the limit is " + limit + " (ulimit -n)",
         kExitBadInput);
  }
  std::cerr << "convtrace collect: the file-descriptor limit (" << limit << ") allows " << fits
            << " connections; --max-connections lowered to " << fits << std::endl;
  *max_connections = fits;
}

// HOST:PORT (IPv6 hosts in brackets) of `option`, or a usage error.
std::pair<std::string, int> host_port(const char* option, const std::string& value) {
  return parse_host_port(kCommand, option, value);
}

std::string shown(const std::string& host) { return bracketed_host(host); }

void run(const CollectOptions& opt) {
  receiver::ReceiverOptions options;
  std::tie(options.host, options.port) = host_port("--listen", opt.listen);
#ifndef CONVTRACE_WITH_GRPC
  if (!opt.grpc.empty()) {
    fail(kCommand, "--grpc: this build has no OTLP/gRPC (configure with -DCONVTRACE_WITH_GRPC=ON)",
         kExitBadInput);
  }
#endif
  options.token = opt.token;
  if (options.token.empty()) {
    if (const char* env = std::getenv("CONVTRACE_COLLECT_TOKEN")) options.token = env;
  }
  if (opt.max_body_mib == 0 || opt.max_body_mib > 1024) {
    fail(kCommand, "--max-body-mib must be 1..1024", kExitBadInput);
  }
  options.max_body_bytes = opt.max_body_mib * 1024 * 1024;
  options.header_timeout = seconds_option("--header-timeout", opt.header_timeout_s);
  options.body_timeout = seconds_option("--body-timeout", opt.body_timeout_s);
  options.idle_timeout = seconds_option("--idle-timeout", opt.idle_timeout_s);
  if (opt.max_connections == 0 || opt.max_connections > 1000000) {
    fail(kCommand, "--max-connections must be 1..1000000", kExitBadInput);
  }
  if (opt.max_connections_per_client == 0) {
    fail(kCommand, "--max-connections-per-client must be at least 1", kExitBadInput);
  }
  options.max_connections = opt.max_connections;
  fit_descriptors(opt, &options.max_connections);
  options.max_connections_per_client = opt.max_connections_per_client;

  std::optional<int64_t> retention_days;
  if (!opt.retention.empty()) {
    retention_days = parse_days(opt.retention);
    if (!retention_days) {
      fail(kCommand, "--retention '" + opt.retention + "' is not a number of days like 30d",
           kExitBadInput);
    }
  }
  // Received spans with tokens but no cost of their own are priced at ingest.
  StoreOptions store_options;
  store_options.pricing = std::make_shared<const Pricing>(load_pricing(kCommand, opt.pricing));
  auto store = Store::open(opt.db, store_options);
  if (!store) fail(kCommand, store.error().message, kExitBadInput);
  std::unique_ptr<Store> pruner;
  if (retention_days) {
    auto second = Store::open(opt.db);
    if (!second) fail(kCommand, second.error().message, kExitBadInput);
    pruner = std::move(*second);
  }

  // SIGINT/SIGTERM are taken by sigwait below, never by a handler: block them
  // before any thread starts so every server thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = receiver::Receiver::start(options, store->get(),
                                          receiver::otlp_decoder(options.max_body_bytes));
  if (!server) fail(kCommand, server.error().message, kExitBadInput);
#ifdef CONVTRACE_WITH_GRPC
  // The same decoder and store as HTTP: both listeners acknowledge only committed spans.
  std::unique_ptr<receiver::GrpcReceiver> grpc_server;
  if (!opt.grpc.empty()) {
    receiver::GrpcReceiverOptions grpc_options;
    std::tie(grpc_options.host, grpc_options.port) = host_port("--grpc", opt.grpc);
    grpc_options.token = options.token;
    grpc_options.max_body_bytes = options.max_body_bytes;
    auto started = receiver::GrpcReceiver::start(grpc_options, store->get(),
                                                 receiver::otlp_decoder(options.max_body_bytes));
    if (!started) fail(kCommand, started.error().message, kExitBadInput);
    grpc_server = std::move(*started);
  }
#endif
  std::cout << "listening on http://" << shown(options.host) << ":" << (*server)->port()
            << std::endl;
#ifdef CONVTRACE_WITH_GRPC
  if (grpc_server) {
    std::cout << "listening on grpc://" << shown(host_port("--grpc", opt.grpc).first) << ":"
              << grpc_server->port() << std::endl;
  }
#endif
  std::cerr << "convtrace collect: writing to " << (*store)->location()
            << (options.token.empty() ? "" : " (bearer token required)");
  if (retention_days) std::cerr << "; keeping " << *retention_days << " day(s)";
  std::cerr << "; Ctrl-C to stop" << std::endl;
  std::unique_ptr<Retention> retention;
  if (pruner) retention = std::make_unique<Retention>(std::move(pruner), *retention_days);

  int received = 0;
  sigwait(&signals, &received);
  // Stop accepting; requests in flight finish, and each was answered only after
  // its spans were committed, so nothing acknowledged is lost.
  (*server)->stop();
  retention.reset();
  receiver::ReceiverStats stats = (*server)->stats();
#ifdef CONVTRACE_WITH_GRPC
  if (grpc_server) {
    grpc_server->stop();
    receiver::ReceiverStats g = grpc_server->stats();
    stats.requests += g.requests;
    stats.spans += g.spans;
    stats.rejected += g.rejected;
    stats.rejected_spans += g.rejected_spans;
  }
#endif
  std::cerr << "convtrace collect: stopped; " << stats.requests << " requests, " << stats.spans
            << " spans stored in " << (*store)->write_transactions() << " transactions, "
            << stats.rejected << " rejected";
  if (stats.rejected_spans) std::cerr << ", " << stats.rejected_spans << " spans refused";
  if (stats.refused_connections) {
    std::cerr << ", " << stats.refused_connections << " connections refused at a cap";
  }
  if (stats.timed_out) std::cerr << ", " << stats.timed_out << " timed out";
  std::cerr << std::endl;
  if (uint64_t unknown = warning_count("unknown_dialect")) {
    std::cerr << "convtrace collect: " << unknown
              << " spans had usage-like attributes in no known dialect (stored as sent, "
                 "without cost)"
              << std::endl;
  }
}

}  // namespace

void register_collect(CLI::App& app) {
  auto opt = std::make_shared<CollectOptions>();
  CLI::App* sub =
      app.add_subcommand("collect", "Receive OTLP/HTTP traces from any language into the store");
  sub->description(
      "Serves POST /v1/traces (OTLP/HTTP, protobuf or JSON, optionally gzip) and stores the\n"
      "spans, so applications in any language land in the same conversations. A request is\n"
      "answered 200 only once its spans are committed, and 503 with Retry-After while the\n"
      "store cannot take them (locked, or its PostgreSQL server restarting: collect connects\n"
      "again by itself). Several collect processes may write one store, SQLite file or\n"
      "PostgreSQL database. Binds loopback unless told otherwise.\n"
      "Prints 'listening on http://HOST:PORT' once it accepts connections; SIGINT or SIGTERM\n"
      "stops it cleanly (exit 0).\n\n"
      "BAD INPUT\n"
      "  Text that is not valid UTF-8 is stored with each bad sequence replaced by U+FFFD\n"
      "  (counted as an invalid_utf8 warning). Spans with a time after\n"
      "  2262-04-11T23:47:16.854775807Z (the latest the store holds) are refused: the answer\n"
      "  is 200 with an OTLP partial success naming the first such span and field, or 400\n"
      "  when no span of the request could be stored.\n\n"
      "LIMITS (OTLP/HTTP)\n"
      "  One thread reads every connection without blocking, so a slow client holds a\n"
      "  connection, never the server. A request's head must arrive within\n"
      "  --header-timeout of the connection (or of its first byte on a kept-alive one) and\n"
      "  its body within --body-timeout after the head, however steadily it trickles;\n"
      "  otherwise it is answered 408 and the connection closed. Kept-alive connections idle\n"
      "  for --idle-timeout are closed. At most --max-connections are open, at most\n"
      "  --max-connections-per-client from one IP address; a connection past a cap\n"
      "  displaces the connection idle longest (of that address, when its own cap is the\n"
      "  limit); when none is idle it is answered 503 with Retry-After: 1. With --token the\n"
      "  token is checked before any byte of the body is read. Request bodies held at once\n"
      "  are bounded by four times --max-body-mib; past that, 503 with Retry-After. The\n"
      "  soft file-descriptor limit is raised to fit --max-connections.\n\n"
      "Spans in any common GenAI dialect (OpenTelemetry GenAI conventions, OpenLLMetry,\n"
      "OpenInference, OpenLIT, Langfuse, Vercel AI SDK) join conversations by their session\n"
      "ids; a span with tokens and a model the catalog knows is priced, a span that sent\n"
      "its own cost keeps it (the catalog's price is kept beside it when they differ).\n\n"
      "EXAMPLES\n"
      "  convtrace collect\n"
      "  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python app.py\n"
      "  convtrace collect --listen 0.0.0.0:4318 --token \"$SECRET\"   # clients send "
      "Authorization: Bearer\n"
      "  convtrace collect --listen 0.0.0.0:4318 --max-connections 4096 "
      "--max-connections-per-client 64\n"
      "  convtrace collect --grpc 127.0.0.1:4317   # also OTLP/gRPC; prints 'listening on "
      "grpc://HOST:PORT'\n"
      "  PGPASSWORD=... convtrace collect --db postgresql://collector@db.internal/convtrace "
      "--retention 30d");
  sub->add_option("--listen", opt->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:4318; port 0 picks one)");
  sub->add_option("--grpc", opt->grpc,
                  "Also serve OTLP/gRPC (TraceService/Export) on HOST:PORT, e.g. 127.0.0.1:4317 "
                  "(builds with gRPC; same store, token and size limit)");
  sub->add_option(
      "--token", opt->token,
      "Require 'Authorization: Bearer TOKEN' (default: CONVTRACE_COLLECT_TOKEN, else none)");
  sub->add_option("--max-body-mib", opt->max_body_mib,
                  "Largest request body, compressed or inflated, in MiB (default 16)");
  sub->add_option("--header-timeout", opt->header_timeout_s,
                  "Seconds a request's head may take to arrive (default 10)");
  sub->add_option("--body-timeout", opt->body_timeout_s,
                  "Seconds a request's body may take after its head, and an answer to be "
                  "written (default 30)");
  sub->add_option("--idle-timeout", opt->idle_timeout_s,
                  "Seconds a kept-alive connection may stay idle (default 15)");
  sub->add_option("--max-connections", opt->max_connections,
                  "Connections open at once (default 1024)")
      ->each([opt](const std::string&) { opt->max_connections_given = true; });
  sub->add_option("--max-connections-per-client", opt->max_connections_per_client,
                  "Connections open at once from one IP address (default 256)");
  sub->add_option("--retention", opt->retention,
                  "Keep today and this many days before it (30d): prune at start and every hour");
  add_db_option(*sub, opt->db);
  add_pricing_option(*sub, opt->pricing);
  sub->footer("EXIT STATUS\n  0 stopped by SIGINT/SIGTERM, 2 bad option, store or address");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
