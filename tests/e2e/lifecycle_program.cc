// Process-lifecycle scenarios, run as a child process by lifecycle_test.cc.
//   lifecycle_program static-sdk FILE     an installed SDK that is never shut down by hand;
//                                          exit must flush every span to FILE.
//   lifecycle_program late-spans FILE     spans ended after shutdown, shutdown twice.
//   lifecycle_program signals URL         shutdown against a slow collector while signals arrive;
//                                          must return within the shutdown timeout.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"

namespace {

std::shared_ptr<convtrace::Sdk> make_jsonl_sdk(const char* path) {
  convtrace::Config c;
  c.read_environment = false;
  c.exporter = convtrace::ExporterKind::jsonl;
  c.jsonl_path = path;
  auto sdk = convtrace::Sdk::create(std::move(c));
  if (!sdk) {
    std::fprintf(stderr, "%s\n", sdk.error().message.c_str());
    std::exit(3);
  }
  return *sdk;
}

// Destroyed during static destruction, after main returns.
std::shared_ptr<convtrace::Sdk> g_static_sdk;

void on_signal(int) {}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string mode = argv[1];
  if (mode == "static-sdk") {
    g_static_sdk = make_jsonl_sdk(argv[2]);
    convtrace::install(g_static_sdk);
    auto conv = convtrace::conversation("exit-conv");
    for (int i = 0; i < 300; ++i) {
      convtrace::observe({"step", convtrace::Kind::tool}, [] {});
    }
    return 0;  // no shutdown: the atexit flush and the static destructor must cope
  }
  if (mode == "late-spans") {
    auto sdk = make_jsonl_sdk(argv[2]);
    convtrace::install(sdk);
    convtrace::Span open = convtrace::start_span("open-at-shutdown");
    convtrace::start_span("before").end();
    if (!sdk->shutdown()) return 4;
    if (!sdk->shutdown()) return 5;
    open.end();
    convtrace::start_span("after").end();
    convtrace::install(nullptr);
    sdk.reset();
    open.set_attribute("still", "safe");
    return sdk == nullptr ? 0 : 6;
  }
  if (mode == "signals") {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;  // no SA_RESTART: system calls see EINTR
    sigaction(SIGUSR1, &sa, nullptr);
    convtrace::OtlpHttpOptions o;
    o.endpoint = argv[2];
    o.timeout = std::chrono::milliseconds(800);
    auto exporter = convtrace::make_otlp_http_exporter(o);
    if (!exporter) return 3;
    convtrace::Config c;
    c.read_environment = false;
    c.custom_exporter = std::move(*exporter);
    auto sdk = convtrace::Sdk::create(std::move(c));
    if (!sdk) return 3;
    for (int i = 0; i < 100; ++i) (*sdk)->tracer().start_span("s").end();
    pid_t self = getpid();
    std::thread pester([self] {
      for (int i = 0; i < 200; ++i) {
        kill(self, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    (*sdk)->shutdown(std::chrono::milliseconds(1500));
    pester.join();
    return 0;
  }
  return 2;
}
