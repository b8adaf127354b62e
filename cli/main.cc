// convtrace: conversation-level observability and exact LLM cost, from the
// command line. Subcommands are registered from their own files (commands.h).
#include <algorithm>
#include <iostream>
#include <string>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"convtrace - conversation-level observability and exact cost for LLM applications"};
  app.require_subcommand(1);
  app.footer(
      "EXIT STATUS\n"
      "  0  success\n"
      "  1  the model, conversation or store asked about is not found\n"
      "  2  malformed input, unreadable file, or a usage error\n\n"
      "Run 'convtrace <command> --help' for a command's options and examples.");
  convtrace::cli::register_usage(app);
  convtrace::cli::register_price(app);
  convtrace::cli::register_demo(app);
  convtrace::cli::register_report(app);
  convtrace::cli::register_conversation(app);
  convtrace::cli::register_conversations(app);
  convtrace::cli::register_workflows(app);
  convtrace::cli::register_collect(app);
  convtrace::cli::register_prune(app);
  // The command list shows each command's first sentence; the rest of its
  // description moves to the footer of its own --help page.
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    std::string text = sub->get_description();
    size_t cut = std::min(text.find(". "), text.find(".\n"));
    if (cut == std::string::npos) continue;
    ++cut;  // keep the full stop
    size_t rest_start = text.find_first_not_of(" \n", cut);
    if (rest_start == std::string::npos) continue;
    std::string rest = text.substr(rest_start);
    std::string footer = sub->get_footer();
    sub->description(text.substr(0, cut));
    sub->footer(footer.empty() ? rest : rest + "\n\n" + footer);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a subcommand already explained itself
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);  // prints the parse problem
    return convtrace::cli::kExitBadInput;
  }
  return convtrace::cli::kExitOk;
}
