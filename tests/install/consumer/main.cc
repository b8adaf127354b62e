// A program outside the convtrace tree, built against the installed package.
#include <convtrace/convtrace.h>

#include <iostream>

int main() {
  convtrace::Config cfg;
  cfg.exporter = convtrace::ExporterKind::none;
  cfg.read_environment = false;
  auto sdk = convtrace::Sdk::create(std::move(cfg));
  if (!sdk) return 1;
  convtrace::install(*sdk);
  auto conv = convtrace::conversation("install-check", {"u"});
  int answer =
      convtrace::observe({"chat", convtrace::Kind::llm, "gpt-4o"}, [](convtrace::Span& span) {
        convtrace::Usage u;
        u.input_tokens = 1234;
        u.output_tokens = 567;
        return span.record_usage(u) ? 42 : 0;
      });
  std::cout << "answer " << answer << '\n';
  return answer == 42 ? 0 : 1;
}
