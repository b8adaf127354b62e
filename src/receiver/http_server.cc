#include "receiver/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/diagnostics.h"

namespace convtrace::receiver {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
// After a final answer that closes the connection, what the client still
// sends is read and discarded for this long before the socket is closed:
// closing with unread input would make the kernel send a reset, which can
// destroy the answer before the client reads it.
constexpr auto kLinger = std::chrono::seconds(1);
// Lingering sockets of refused connections (past a cap) kept at once.
constexpr size_t kMaxLingeringRefused = 256;
// Connections accepted per turn of the loop. Between accepting a connection
// and reading its first bytes the loop accepts at most this many others, so
// a client that sends at once is never the idle connection displaced while
// more than this many connections are open.
constexpr int kAcceptsPerTurn = 32;
// Deadlines are checked this often at most (and precise to about this much).
constexpr auto kSweepEvery = std::chrono::milliseconds(10);
constexpr uint64_t kListenTag = 0;
constexpr uint64_t kWakeTag = 1;

enum class Phase {
  head,        // reading a request head (or idle before one)
  body,        // reading its body
  processing,  // a worker has the request; not polled
  writing,     // writing the answer
  lingering,   // answered and half-closed: discarding input until EOF or the deadline
};

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  std::string peer;     // client address, without the port
  bool counted = true;  // in the connection caps (refused connections are not)
  Phase phase = Phase::head;
  bool fresh = true;    // no request completed yet: the head deadline runs from accept
  std::string in;       // received bytes not yet consumed
  size_t searched = 0;  // bytes of `in` searched for the end of the head
  http::RequestHead head;
  std::string body;
  std::optional<http::ChunkedDecoder> chunked;
  size_t reserved = 0;  // of the buffered-bytes budget
  std::string out;
  size_t out_pos = 0;
  bool close_after = false;
  uint32_t events = 0;  // epoll interest; 0 = not registered
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point idle_since{};  // valid while in `idle_`
  bool idle = false;
};

struct Job {
  uint64_t conn = 0;
  http::RequestHead head;
  std::string body;
};

struct Done {
  uint64_t conn = 0;
  HttpResponse response;
};

std::string serialize(const HttpResponse& r, bool close, int minor_version) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += http::reason_phrase(r.status);
  out += "\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (close) {
    out += "Connection: close\r\n";
  } else if (minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

HttpResponse plain(int status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(text) + "\n";
  r.close = true;
  return r;
}

HttpResponse retry_later(std::string text) {
  HttpResponse r = plain(503, std::move(text));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::string address_of(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);  // one client, one key
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    }
  }
  return buf;
}

}  // namespace

struct HttpServer::Impl {
  ServerLimits limits;
  HeadCheck check;
  Handler handler;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int spare_fd = -1;  // given up to accept-and-close a connection when out of descriptors
  int port = 0;
  std::thread io;
  std::vector<std::thread> workers;

  std::atomic<bool> stop_requested{false};
  std::atomic<bool> stopped{false};

  // Worker queue and answers. Guarded by mu.
  std::mutex mu;
  std::condition_variable jobs_ready;
  std::deque<Job> jobs;
  std::vector<Done> done;
  bool workers_stop = false;

  // I/O thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::unordered_map<std::string, size_t> per_client;
  std::set<std::pair<Clock::time_point, uint64_t>> idle;  // (since, conn id), oldest first
  size_t counted = 0;                                     // connections counted in the caps
  size_t lingering_refused = 0;
  size_t buffered = 0;   // bytes reserved by bodies held
  size_t in_flight = 0;  // requests with the workers
  uint64_t next_id = 2;  // 0 and 1 tag the listening socket and the wake-up
  bool stopping = false;
  Clock::time_point next_sweep = Clock::time_point::max();
  Clock::time_point now;
  std::vector<uint64_t> ready;  // connections with a buffered request to read

  std::atomic<uint64_t> open{0}, accepted{0}, refused{0}, displaced{0}, timed_out{0}, rejected{0};

  // --- epoll ---------------------------------------------------------------

  void watch(Conn& c, uint32_t events) {
    if (events == c.events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = c.id;
    int op = c.events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    epoll_ctl(epoll_fd, op, c.fd, &ev);
    c.events = events;
  }

  void set_deadline(Conn& c, Clock::time_point t) {
    c.deadline = t;
    if (t < next_sweep) next_sweep = t;
  }

  void set_idle(Conn& c, bool on) {
    if (c.idle == on) return;
    if (on) {
      c.idle_since = now;
      idle.emplace(now, c.id);
    } else {
      idle.erase({c.idle_since, c.id});
    }
    c.idle = on;
  }

  void close_conn(Conn& c) {
    watch(c, 0);
    ::close(c.fd);
    set_idle(c, false);
    buffered -= c.reserved;
    if (c.counted) {
      --counted;
      auto it = per_client.find(c.peer);
      if (it != per_client.end() && --it->second == 0) per_client.erase(it);
    } else {
      --lingering_refused;
    }
    open.store(counted, std::memory_order_relaxed);
    conns.erase(c.id);  // destroys c
  }

  // --- accepting -------------------------------------------------------------

  // Closes the connection idle longest, of `peer` when it is not empty.
  // False when there is none.
  bool displace_idle(const std::string& peer) {
    for (const auto& [since, id] : idle) {
      Conn& c = *conns.at(id);
      if (!peer.empty() && c.peer != peer) continue;
      ++displaced;
      close_conn(c);
      return true;
    }
    return false;
  }

  void refuse_connection(int fd, const std::string& peer, const char* why) {
    ++refused;
    ++rejected;
    std::string text =
        serialize(retry_later(std::string("busy: ") + why + "; retry later"), true, 1);
    // A fresh socket's send buffer takes the whole answer.
    ssize_t ignored = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    (void)ignored;
    if (lingering_refused >= kMaxLingeringRefused) {
      ::close(fd);
      return;
    }
    auto c = std::make_unique<Conn>();
    c->id = next_id++;
    c->fd = fd;
    c->peer = peer;
    c->counted = false;
    ++lingering_refused;
    Conn& ref = *c;
    conns.emplace(ref.id, std::move(c));
    begin_linger(ref);
  }

  void accept_pending() {
    for (int k = 0; k < kAcceptsPerTurn; ++k) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
          // Out of descriptors: accept one connection with the spare and
          // close it, so the client hears a refusal instead of waiting.
          report_warning("collect_fd_limit",
                         "out of file descriptors: connections are refused (raise ulimit -n or "
                         "lower --max-connections)");
          ::close(spare_fd);
          spare_fd = -1;
          int extra = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (extra >= 0) {
            ++refused;
            ::close(extra);
          }
          spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        return;  // EAGAIN, or nothing more to do now
      }
      ++accepted;
      std::string peer = address_of(addr);
      if (stopping) {
        ::close(fd);
        continue;
      }
      auto known = per_client.find(peer);
      size_t from_peer = known == per_client.end() ? 0 : known->second;
      if (from_peer >= limits.max_connections_per_client) {
        if (!displace_idle(peer)) {
          refuse_connection(fd, peer, "too many connections from this address");
          continue;
        }
      } else if (counted >= limits.max_connections) {
        if (!displace_idle("")) {
          refuse_connection(fd, peer, "too many connections");
          continue;
        }
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->id = next_id++;
      c->fd = fd;
      c->peer = peer;
      Conn& ref = *c;
      conns.emplace(ref.id, std::move(c));
      ++per_client[peer];
      ++counted;
      open.store(counted, std::memory_order_relaxed);
      set_idle(ref, true);
      set_deadline(ref, now + limits.header_timeout);
      watch(ref, EPOLLIN | EPOLLRDHUP);
      // A client usually sends its request right after connecting: read it
      // now, so it is not taken for idle by the next connection accepted.
      on_readable(ref);
    }
  }

  // --- answering ---------------------------------------------------------------

  // Queues the answer and writes what the socket takes; false when the
  // connection was closed (then `c` is gone).
  bool respond(Conn& c, const HttpResponse& r, bool close) {
    close = close || r.close || !c.head.keep_alive || stopping;
    c.out += serialize(r, close, c.head.minor_version);
    c.close_after = close;
    c.phase = Phase::writing;
    set_idle(c, false);
    set_deadline(c, now + limits.body_timeout);
    return flush(c);
  }

  // An answer the server makes itself (timeouts, bad framing, the budget);
  // false when the connection was closed.
  bool refuse_request(Conn& c, const HttpResponse& r) {
    ++rejected;
    return respond(c, r, true);
  }

  void begin_linger(Conn& c) {
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::lingering;
    c.in.clear();
    c.in.shrink_to_fit();
    c.body = std::string();
    buffered -= c.reserved;
    c.reserved = 0;
    set_deadline(c, now + kLinger);
    watch(c, EPOLLIN | EPOLLRDHUP);
  }

  // Writes what is pending; false when the connection was closed (then `c`
  // is gone).
  bool flush(Conn& c) {
    while (c.out_pos < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(c, (c.phase == Phase::writing ? 0u : EPOLLIN | EPOLLRDHUP) | EPOLLOUT);
        return true;
      }
      close_conn(c);
      return false;
    }
    c.out.clear();
    c.out_pos = 0;
    if (c.phase != Phase::writing) {
      watch(c, EPOLLIN | EPOLLRDHUP);  // a "100 Continue" went out; keep reading
      return true;
    }
    if (c.close_after) {
      begin_linger(c);
      return true;
    }
    // Kept alive: ready for the next request, which may already be buffered.
    c.phase = Phase::head;
    c.fresh = false;
    c.head = http::RequestHead();
    c.body = std::string();
    c.chunked.reset();
    watch(c, EPOLLIN | EPOLLRDHUP);
    if (c.in.empty()) {
      set_idle(c, true);
      set_deadline(c, now + limits.idle_timeout);
      return true;
    }
    // A pipelined request: read by the loop, not from here, so a client
    // sending thousands of them at once cannot deepen the stack.
    set_deadline(c, now + limits.header_timeout);
    ready.push_back(c.id);
    return true;
  }

  // --- reading -------------------------------------------------------------------

  void dispatch(Conn& c) {
    c.phase = Phase::processing;
    c.deadline = Clock::time_point::max();
    watch(c, 0);
    ++in_flight;
    {
      std::lock_guard<std::mutex> lock(mu);
      jobs.push_back(Job{c.id, c.head, std::move(c.body)});
    }
    c.body = std::string();
    jobs_ready.notify_one();
  }

  bool reserve(Conn& c, size_t bytes) {
    if (buffered + bytes > limits.max_buffered_bytes) return false;
    buffered += bytes;
    c.reserved += bytes;
    return true;
  }

  // Consumes buffered input; false when the connection was closed.
  bool process_input(Conn& c) {
    if (c.phase == Phase::head) {
      size_t len = http::head_length(c.in, c.searched);
      if (len == 0) {
        if (c.in.size() > limits.head.max_head_bytes) {
          return refuse_request(
              c, plain(431, "request head larger than " +
                                std::to_string(limits.head.max_head_bytes) + " bytes"));
        }
        // The end may straddle what arrives next: search again from the last "\n" candidates.
        c.searched = c.in.size() >= 2 ? c.in.size() - 2 : 0;
        return true;
      }
      http::Refusal bad =
          http::parse_head(std::string_view(c.in).substr(0, len), limits.head, &c.head);
      c.in.erase(0, len);
      c.searched = 0;
      if (bad) return refuse_request(c, plain(bad.status, bad.reason));
      if (std::optional<HttpResponse> early = check(c.head)) {
        // Refused before its body is read: the body is never read, so the
        // connection cannot carry another request after it.
        return respond(c, *early, c.head.framing != http::Framing::none);
      }
      if (c.head.framing == http::Framing::none) {
        dispatch(c);
        return true;
      }
      if (c.head.framing == http::Framing::length) {
        if (c.head.content_length > limits.max_body_bytes) {
          return refuse_request(
              c, plain(413,
                       "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes"));
        }
        if (!reserve(c, static_cast<size_t>(c.head.content_length))) {
          return refuse_request(c, retry_later("busy: too many request bodies held; retry later"));
        }
        c.body.reserve(static_cast<size_t>(c.head.content_length));
      } else {
        c.chunked.emplace(limits.max_body_bytes);
      }
      c.phase = Phase::body;
      set_deadline(c, now + limits.body_timeout);
      if (c.head.expect_continue) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        if (!flush(c)) return false;
      }
    }
    if (c.phase != Phase::body) return true;
    if (c.head.framing == http::Framing::length) {
      size_t need = static_cast<size_t>(c.head.content_length) - c.body.size();
      size_t take = std::min(need, c.in.size());
      c.body.append(c.in, 0, take);
      c.in.erase(0, take);
      if (c.body.size() == c.head.content_length) dispatch(c);
      return true;
    }
    http::Refusal bad;
    size_t before = c.body.size();
    size_t used = c.chunked->feed(c.in, c.body, &bad);
    c.in.erase(0, used);
    if (bad) return refuse_request(c, plain(bad.status, bad.reason));
    if (c.body.size() > before && !reserve(c, c.body.size() - before)) {
      return refuse_request(c, retry_later("busy: too many request bodies held; retry later"));
    }
    if (c.chunked->done()) dispatch(c);
    return true;
  }

  void on_readable(Conn& c) {
    char buf[kReadChunk];
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
      // The client closed (or reset): nothing of a partial request is answered.
      close_conn(c);
      return;
    }
    if (c.phase == Phase::lingering) return;  // discarded
    if (c.phase == Phase::head && c.idle) {
      set_idle(c, false);
      if (!c.fresh) set_deadline(c, now + limits.header_timeout);
    }
    auto bytes = static_cast<size_t>(n);
    if (c.phase == Phase::body && c.head.framing == http::Framing::length && c.in.empty()) {
      // The common case of a large body: straight into it.
      size_t need = static_cast<size_t>(c.head.content_length) - c.body.size();
      size_t take = std::min(need, bytes);
      c.body.append(buf, take);
      c.in.append(buf + take, bytes - take);
      if (c.body.size() == c.head.content_length) dispatch(c);
      return;
    }
    c.in.append(buf, bytes);
    process_input(c);
  }

  void on_event(uint64_t id, uint32_t events) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    if (events & EPOLLERR) {
      close_conn(c);
      return;
    }
    if ((events & EPOLLOUT) && !c.out.empty()) {
      if (!flush(c)) return;
    }
    if (conns.find(id) == conns.end()) return;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) &&
        (c.phase == Phase::head || c.phase == Phase::body || c.phase == Phase::lingering)) {
      on_readable(c);
    }
  }

  void take_answers() {
    std::vector<Done> answers;
    {
      std::lock_guard<std::mutex> lock(mu);
      answers.swap(done);
    }
    for (Done& d : answers) {
      --in_flight;
      auto it = conns.find(d.conn);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      buffered -= c.reserved;
      c.reserved = 0;
      respond(c, d.response, false);
    }
  }

  // --- deadlines -------------------------------------------------------------

  void sweep() {
    next_sweep = Clock::time_point::max();
    // Scans every connection: at most once per kSweepEvery, so thousands of
    // connections with nearby deadlines cost one scan per batch.
    std::vector<uint64_t> expired;
    for (const auto& [id, c] : conns) {
      if (c->deadline <= now) {
        expired.push_back(id);
      } else if (c->deadline < next_sweep) {
        next_sweep = c->deadline;
      }
    }
    if (next_sweep < now + kSweepEvery) next_sweep = now + kSweepEvery;
    for (uint64_t id : expired) {
      auto it = conns.find(id);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      switch (c.phase) {
        case Phase::head:
          if (c.in.empty()) {
            if (!c.fresh) {
              close_conn(c);  // idle keep-alive connection
              break;
            }
            ++timed_out;
            close_conn(c);  // connected, never sent anything
            break;
          }
          ++timed_out;
          refuse_request(c, plain(408, "request head not received within " +
                                           std::to_string(limits.header_timeout.count()) + " ms"));
          break;
        case Phase::body:
          ++timed_out;
          refuse_request(c, plain(408, "request body not received within " +
                                           std::to_string(limits.body_timeout.count()) + " ms"));
          break;
        case Phase::writing:
          ++timed_out;
          close_conn(c);
          break;
        case Phase::lingering:
          close_conn(c);
          break;
        case Phase::processing:
          break;
      }
    }
  }

  int wait_ms() const {
    if (next_sweep == Clock::time_point::max()) return stopping ? 100 : -1;
    if (next_sweep <= now) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_sweep - now).count() + 1;
    return static_cast<int>(std::min<int64_t>(ms, 60000));
  }

  // --- the loop ----------------------------------------------------------------

  void begin_stop() {
    stopping = true;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, nullptr);
    ::close(listen_fd);
    listen_fd = -1;
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : conns) ids.push_back(id);
    for (uint64_t id : ids) {
      Conn& c = *conns.at(id);
      // Nothing was answered on these: the client retries elsewhere or later.
      if (c.phase == Phase::head || c.phase == Phase::body || c.phase == Phase::lingering) {
        close_conn(c);
      } else {
        c.close_after = true;
      }
    }
  }

  void run() {
    epoll_event events[256];
    now = Clock::now();
    while (true) {
      if (stop_requested.load(std::memory_order_acquire) && !stopping) begin_stop();
      if (stopping && conns.empty() && in_flight == 0) return;
      int n = epoll_wait(epoll_fd, events, 256, wait_ms());
      now = Clock::now();
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kListenTag) {
          if (listen_fd >= 0) accept_pending();
        } else if (tag == kWakeTag) {
          uint64_t count;
          ssize_t ignored = ::read(wake_fd, &count, sizeof count);
          (void)ignored;
          take_answers();
        } else {
          on_event(tag, events[i].events);
        }
      }
      while (!ready.empty()) {
        std::vector<uint64_t> batch;
        batch.swap(ready);
        for (uint64_t id : batch) {
          auto it = conns.find(id);
          if (it != conns.end() && it->second->phase == Phase::head) process_input(*it->second);
        }
      }
      if (now >= next_sweep) sweep();
    }
  }

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu);
        jobs_ready.wait(lock, [&] { return workers_stop || !jobs.empty(); });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      Done d;
      d.conn = job.conn;
      try {
        d.response = handler(job.head, std::move(job.body));
      } catch (...) {
        d.response = plain(500, "internal error");
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        done.push_back(std::move(d));
      }
      uint64_t one = 1;
      ssize_t ignored = ::write(wake_fd, &one, sizeof one);
      (void)ignored;
    }
  }

  ~Impl() {
    for (auto& [id, c] : conns) ::close(c->fd);
    for (int fd : {listen_fd, epoll_fd, wake_fd, spare_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Expected<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& host, int port,
                                                        ServerLimits limits, HeadCheck check,
                                                        Handler handler) {
  if (port < 0 || port > 65535) return Error{Error::invalid_argument, "port must be 0..65535"};
  try {
    auto impl = std::make_unique<Impl>();
    impl->limits = limits;
    impl->limits.workers = std::max(1, limits.workers);
    impl->check = std::move(check);
    impl->handler = std::move(handler);

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
      return Error{Error::invalid_argument,
                   "cannot listen on '" + host + "': " + ::gai_strerror(rc)};
    }
    std::string why = "no usable address";
    for (addrinfo* a = found; a && impl->listen_fd < 0; a = a->ai_next) {
      int fd =
          ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
        impl->listen_fd = fd;
      } else {
        why = std::strerror(errno);
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    if (impl->listen_fd < 0) {
      return Error{Error::unavailable,
                   "cannot listen on " + host + ":" + std::to_string(port) + " (" + why + ")"};
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
    impl->port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

    impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    impl->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    impl->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (impl->epoll_fd < 0 || impl->wake_fd < 0) {
      return Error{Error::unavailable,
                   std::string("cannot start the server: ") + std::strerror(errno)};
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->listen_fd, &ev);
    ev.data.u64 = kWakeTag;
    epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->wake_fd, &ev);

    Impl* self = impl.get();
    try {
      for (int i = 0; i < self->limits.workers; ++i) {
        self->workers.emplace_back([self] { self->work(); });
      }
      self->io = std::thread([self] { self->run(); });
    } catch (...) {
      std::unique_ptr<HttpServer> partial(new HttpServer(std::move(impl)));
      partial->stop();  // joins what did start
      throw;
    }
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  impl_->stop_requested.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t ignored = ::write(impl_->wake_fd, &one, sizeof one);
  (void)ignored;
  if (impl_->io.joinable()) impl_->io.join();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->workers_stop = true;
  }
  impl_->jobs_ready.notify_all();
  for (auto& w : impl_->workers) w.join();
}

ServerStats HttpServer::stats() const {
  const Impl& i = *impl_;
  return ServerStats{i.open.load(),      i.accepted.load(),  i.refused.load(),
                     i.displaced.load(), i.timed_out.load(), i.rejected.load()};
}

}  // namespace convtrace::receiver
