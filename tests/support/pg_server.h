// A real PostgreSQL server for the tests, started by the test program itself:
// initdb into a temporary directory, postgres on an ephemeral loopback port,
// as an unprivileged OS user when the tests run as root (PostgreSQL refuses
// to run as root; CI runs as root). The server is a child of the test process
// and is told to stop when that process dies, however it dies.
//
//   PgServer& pg = PgServer::shared();     // one per test program
//   std::string uri = pg.new_database();    // postgresql://convtrace@127.0.0.1:PORT/t3
#pragma once

#include <arpa/inet.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef CONVTRACE_PG_BIN
#define CONVTRACE_PG_BIN "/usr/lib/postgresql/15/bin"
#endif

namespace convtrace::testing {

class PgServer {
 public:
  // The server of this test program, started on first use.
  static PgServer& shared() {
    static PgServer server;
    return server;
  }

  // A fresh, empty database; its URI.
  std::string new_database() {
    std::string name = "t" + std::to_string(++databases_);
    run_sql("postgres", "CREATE DATABASE " + name);
    return uri(name);
  }

  std::string uri(const std::string& database, const std::string& user = "convtrace") const {
    return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }
  int port() const { return port_; }

  // Runs `sql` in `database` as the superuser; throws on failure.
  void run_sql(const std::string& database, const std::string& sql) const {
    PGconn* c = PQconnectdb(uri(database).c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string m = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("test server: " + m);
    }
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      throw std::runtime_error("test server: " + sql + ": " + m);
    }
  }

  // Stops the server (fast shutdown: sessions are ended, as in a restart).
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGINT);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Starts it again on the same port and data; waits until it accepts.
  void start() {
    if (pid_ > 0) return;
    pid_ = spawn({bin("postgres"), "-D", data_, "-c", "listen_addresses=127.0.0.1", "-p",
                  std::to_string(port_), "-k", dir_},
                 dir_ + "/server.log");
    wait_ready();
  }

  ~PgServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

 private:
  PgServer() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "convtrace-pg-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("test server: mkdtemp failed");
    dir_ = tmpl;
    data_ = dir_ + "/data";
    if (getuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) pw = getpwnam("nobody");
      if (!pw) throw std::runtime_error("test server: no unprivileged user to run PostgreSQL");
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      if (chown(dir_.c_str(), uid_, gid_) != 0) throw std::runtime_error("test server: chown");
    }
    chmod(dir_.c_str(), 0755);
    pid_t init = spawn({bin("initdb"), "-D", data_, "-A", "trust", "-U", "convtrace", "-E", "UTF8",
                        "--locale=C", "--no-sync"},
                       dir_ + "/initdb.log");
    int status = 0;
    waitpid(init, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("test server: initdb failed (see " + dir_ + "/initdb.log)");
    }
    // Loopback only. User `app` must give a password (the password tests);
    // everyone else is trusted.
    write_file(data_ + "/pg_hba.conf",
               "local all all trust\n"
               "host all app 127.0.0.1/32 scram-sha-256\n"
               "host all all 127.0.0.1/32 trust\n");
    write_file(data_ + "/postgresql.auto.conf",
               "fsync = off\nfull_page_writes = off\nmax_connections = 60\n"
               "shared_buffers = 32MB\nlog_min_messages = warning\n");
    port_ = free_port();
    start();
  }

  static std::string bin(const char* name) { return std::string(CONVTRACE_PG_BIN) + "/" + name; }

  void write_file(const std::string& path, const std::string& text) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("test server: cannot write " + path);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    if (getuid() == 0 && chown(path.c_str(), uid_, gid_) != 0) {
      throw std::runtime_error("test server: chown " + path);
    }
  }

  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(fd);
      throw std::runtime_error("test server: no free port");
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
  }

  // Runs `args` as the server's user, output to `log`, ended with this process.
  pid_t spawn(std::vector<std::string> args, const std::string& log) const {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("test server: fork failed");
    if (pid == 0) {
      if (getuid() == 0) {
        if (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0) _exit(126);
      }
      // After setuid, which clears it: the server stops if the tests die.
      prctl(PR_SET_PDEATHSIG, SIGINT);
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      if (out) dup2(fileno(out), STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  void wait_ready() const {
    std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(conninfo.c_str()) == PQPING_OK) return;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        throw std::runtime_error("test server: postgres exited (see " + dir_ + "/server.log)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("test server: postgres did not start within 60 s");
  }

  std::string dir_, data_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

}  // namespace convtrace::testing
