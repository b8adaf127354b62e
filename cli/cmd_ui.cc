// `convtrace ui`: a local web app over the store, with its JSON API.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <iostream>

#include "receiver/receiver.h"
#include "store_common.h"
#include "ui_api.h"
#include "ui_assets.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "ui";

struct UiOptions {
  std::string db;
  std::string listen = "127.0.0.1:8321";
  std::string token;
  bool open = false;
};

// Data is attacker-controlled text (captured prompts): scripts only from the
// program itself, no inline script or style, no framing, nothing sent elsewhere.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void set_common_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

// Opens `url` in the desktop's browser, without a shell.
void open_browser(const std::string& url) {
  pid_t pid = fork();
  if (pid == 0) {
    execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) std::cerr << "convtrace ui: cannot start xdg-open; open " << url << '\n';
}

void run(const UiOptions& opt) {
  auto [host, port] = parse_host_port(kCommand, "--listen", opt.listen);
  if (!is_loopback(host) && opt.token.empty()) {
    fail(kCommand,
         "--listen " + opt.listen +
             " is not a loopback address: anyone who reaches it could read every captured "
             "prompt; give --token T as well (clients then send 'Authorization: Bearer T')",
         kExitBadInput);
  }
  StoreOptions store_options;
  store_options.read_only = true;  // the UI never writes
  auto opened = Store::open(opt.db, store_options);
  if (!opened && opened.error().code == Error::not_found) {
    fail(kCommand,
         "no store at " + redact_location(opt.db) +
             " (run 'convtrace demo' or 'convtrace collect', or pass --db)",
         kExitUnknown);
  }
  if (!opened) fail(kCommand, opened.error().message, kExitBadInput);
  std::unique_ptr<Store> store = std::move(*opened);

  // SIGINT/SIGTERM are taken by sigwait below, never by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  httplib::Server server;
  const std::string token = opt.token;
  server.Get(R"(/api/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    set_common_headers(res);
    if (!token.empty()) {
      std::string presented = req.get_header_value("Authorization");
      if (!receiver::constant_time_equal(presented, "Bearer " + token)) {
        res.status = 401;
        res.set_content("{\"error\":\"a bearer token is required\"}", "application/json");
        return;
      }
    }
    ApiReply reply = answer_api(*store, req.path, req.params);
    res.status = reply.status;
    res.set_content(reply.body, "application/json; charset=utf-8");
  });
  server.Get(R"(/[a-z.]*)", [](const httplib::Request& req, httplib::Response& res) {
    set_common_headers(res);
    UiAsset asset = ui_asset(req.path == "/" ? "/index.html" : req.path);
    if (asset.content.empty()) {
      res.status = 404;
      res.set_content("not found", "text/plain");
      return;
    }
    res.set_content(std::string(asset.content), std::string(asset.content_type));
  });
  int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) fail(kCommand, "cannot listen on " + opt.listen, kExitBadInput);
  std::thread serving([&] { server.listen_after_bind(); });
  // The socket listens from bind on: connections wait in its backlog.
  std::string url = "http://" + bracketed_host(host) + ":" + std::to_string(bound) + "/";
  if (!token.empty()) url += "?token=" + token;
  std::cout << "convtrace ui: " << url << std::endl;
  std::cerr << "convtrace ui: reading " << store->location() << " (read-only)"
            << (ui_has_charts() ? "" : "; built without the charting library: charts are tables")
            << "; Ctrl-C to stop" << std::endl;
  if (opt.open) open_browser(url);

  int received = 0;
  sigwait(&signals, &received);
  server.stop();
  serving.join();
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

void register_ui(CLI::App& app) {
  auto opt = std::make_shared<UiOptions>();
  CLI::App* sub = app.add_subcommand("ui",
                                     "A local web app over the store: costs, conversations, "
                                     "workflows, users, models, live");
  sub->description(
      "A local web app over the store. Pages: an overview (spend per day by model, top\n"
      "users and conversations, cost per workflow type, error rate, tokens), the list of\n"
      "conversations with filters, one conversation turn by turn with each turn's span\n"
      "waterfall and attributes, workflows (types, runs, a run's steps with their cost\n"
      "share), users and models. New spans that 'convtrace collect' or an application\n"
      "writes into the same store appear without a reload. Every number comes from the\n"
      "queries behind the CLI's --json (the JSON API under /api/ is in the README).\n\n"
      "Security: the store is opened read-only. It listens on 127.0.0.1 unless told\n"
      "otherwise, and any other address needs --token (API clients then send\n"
      "'Authorization: Bearer T'; the printed URL carries it for the browser). Captured\n"
      "content is shown as text, never as HTML, under a Content-Security-Policy. All\n"
      "files are compiled into the program: it fetches nothing from the network.\n\n"
      "Prints 'convtrace ui: URL' once it accepts connections; SIGINT or SIGTERM stops it.\n\n"
      "EXAMPLES\n"
      "  convtrace demo && convtrace ui --open\n"
      "  convtrace ui --db /var/lib/convtrace/convtrace.db --listen 127.0.0.1:9000\n"
      "  convtrace ui --listen 0.0.0.0:8321 --token \"$(openssl rand -hex 16)\"");
  add_db_option(*sub, opt->db);
  sub->add_option("--listen", opt->listen,
                  "HOST:PORT to serve on (default 127.0.0.1:8321; port 0: any free port)");
  sub->add_option("--token", opt->token,
                  "Require 'Authorization: Bearer T' on the API (needed off loopback)");
  sub->add_flag("--open", opt->open, "Open the page in the desktop's browser (xdg-open)");
  sub->footer(
      "EXIT STATUS\n  0 stopped by SIGINT/SIGTERM, 1 no store at --db, 2 bad option, "
      "store or address");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
