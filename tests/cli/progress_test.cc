// Progress on stderr: after its delay, on a terminal only, erased at the end.
#include "progress.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace convtrace::cli {
namespace {

std::string drain(int fd) {
  std::string out;
  char buf[256];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(Progress, ShowsAfterItsDelayOnATerminalAndErasesItself) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    Progress progress("convtrace report", fds[1], true, std::chrono::milliseconds(0));
    pollfd p{fds[0], POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 10000), 1);  // bounded wait for the first line
  }
  std::string out = drain(fds[0]);
  EXPECT_NE(out.find("\rconvtrace report: working... "), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K");
  close(fds[0]);
  close(fds[1]);
}

TEST(Progress, NothingWhenNotATerminalOrWhenDoneInTime) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  { Progress progress("convtrace report", fds[1], false, std::chrono::milliseconds(0)); }
  {
    Progress quick("convtrace report", fds[1], true, std::chrono::hours(1));
    quick.stop();
    quick.stop();
  }
  EXPECT_EQ(drain(fds[0]), "");
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace convtrace::cli
