// tcpmax serve's failures: one line on stderr that names what was wrong;
// exit 1 when it ran and could not listen, exit 2 for bad flags.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.h"

namespace tcpmax::testing {
namespace {

bool OneLine(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

TEST(ServeErrors, AddressInUseNamesTheAddressAndErrnoAndExitsOne) {
  // Someone else (without SO_REUSEPORT) listens on the port.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string ep = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  for (const char* engine : {"epoll", "uring"}) {
    RunResult r = RunTcpmax({"serve", "--engine", engine, "--listen", ep, "--duration", "2s"}, 20);
    EXPECT_EQ(r.exit_code, 1) << engine << ": " << r.err;
    EXPECT_TRUE(OneLine(r.err)) << r.err;
    EXPECT_NE(r.err.find(ep), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("EADDRINUSE"), std::string::npos) << r.err;
  }
  close(fd);
}

TEST(ServeErrors, BadFlagsAreOneLineUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--listen", "127.0.0.1:99999"}, "--listen '127.0.0.1:99999'"},
      {{"--listen", "127.0.0.1:7005-7000"}, "reversed port range"},
      {{"--listen", "nowhere:80"}, "not an IP address"},
      {{"--listen", "7000"}, "expected ADDR:PORT"},
      {{"--mode", "chat"}, "--mode 'chat'"},
      {{"--engine", "kqueue"}, "--engine 'kqueue'"},
      {{"--max-conns", "lots"}, "--max-conns 'lots'"},
      {{"--duration", "soon"}, "--duration 'soon'"},
      {{"--interval", "1ms"}, "--interval '1ms'"},
      {{"--frobnicate"}, "frobnicate"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"serve"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    RunResult r = RunTcpmax(args, 20);
    EXPECT_EQ(r.exit_code, 2) << c.says << ": " << r.err;
    EXPECT_TRUE(OneLine(r.err)) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(ServeErrors, DurationStopsWithTextSummary) {
  RunResult r = RunTcpmax({"serve", "--listen", "127.0.0.1:0", "--duration", "300ms"}, 20);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("listening on 127.0.0.1:"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("stopped by duration"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("errors    none"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace tcpmax::testing
