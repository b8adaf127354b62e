// convtrace: conversation-level observability and exact LLM cost, from the
// command line. Subcommands are registered from their own files (commands.h).
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"convtrace - conversation-level observability and exact cost for LLM applications"};
  app.require_subcommand(1);
  app.footer(
      "EXIT STATUS\n"
      "  0  success\n"
      "  1  the model (or other thing asked about) is unknown\n"
      "  2  malformed input, unreadable file, or a usage error\n\n"
      "Run 'convtrace <command> --help' for a command's options and examples.");
  convtrace::cli::register_usage(app);
  convtrace::cli::register_price(app);
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
