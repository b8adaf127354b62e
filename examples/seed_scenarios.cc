// The three classic scenarios (scenarios.h), instrumented with convtrace.
//
// The LLM client is a stand-in that returns fixed token usage, so the program
// needs no network and no API keys. Spans go to the console; the standard
// OTEL_* variables choose another exporter, e.g.
//   OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./seed_scenarios
#include <cstdlib>
#include <iostream>

#include "convtrace/convtrace.h"
#include "scenarios.h"

int main() {
  convtrace::Config cfg;
  cfg.service_name = "seed-scenarios";
  // Print to the console unless OTEL_TRACES_EXPORTER chooses another exporter
  // (the library's own default is the embedded SQLite store).
  if (!std::getenv("OTEL_TRACES_EXPORTER")) cfg.exporter = convtrace::ExporterKind::console;
  cfg.synchronous_export = true;  // print each span as it ends, in order
  auto sdk = convtrace::Sdk::create(std::move(cfg));
  if (!sdk) {
    std::cerr << "convtrace: " << sdk.error().message << '\n';
    return 1;
  }
  convtrace::install(*sdk);

  std::cout << "=== Scenario 1: a 3-turn chat ===\n";
  scenarios::three_turn_chat();
  std::cout << "\n=== Scenario 2: a RAG workflow ===\n";
  scenarios::rag_workflow();
  std::cout << "\n=== Scenario 3: a conversation whose turns each run a RAG workflow ===\n";
  scenarios::conversation_of_rag_turns();

  (*sdk)->shutdown();
  auto stats = (*sdk)->stats();
  std::cout << "\nspans exported: " << stats.processor.exported
            << ", dropped: " << stats.processor.dropped << '\n';
  return 0;
}
