#include "metrics/exposition.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/fd.h"
#include "metrics/families.h"
#include "metrics/server.h"

namespace tcpmax::metrics {
namespace {

TEST(Exposition, CountersAndGaugesWithLabels) {
  Exposition e(Labels{{"rank", "2"}});
  e.Counter("tcpmax_x_total", "Things.\nMore", 42);
  e.Gauge("tcpmax_y", "Y.", {{{{"class", "E\"A\\B"}}, 1.5}});
  EXPECT_EQ(e.Text(),
            "# HELP tcpmax_x_total Things.\\nMore\n# TYPE tcpmax_x_total counter\ntcpmax_x_total{rank=\"2\"} 42\n"
            "# HELP tcpmax_y Y.\n# TYPE tcpmax_y gauge\ntcpmax_y{rank=\"2\",class=\"E\\\"A\\\\B\"} 1.5\n");
}

TEST(Exposition, HistogramCountsAreExactAtTheirBounds) {
  Histogram h;
  for (uint64_t v = 1000; v < 50'000'000; v = v * 11 / 10 + 7) h.Record(v);
  Exposition e;
  e.HistogramSeconds("lat_seconds", "L.", h);
  const std::string& text = e.Text();
  for (int b : Exposition::BucketBounds()) {
    uint64_t upper = Histogram::UpperOf(b);
    std::string le = fmt::format("{}.{:09}", upper / 1'000'000'000, upper % 1'000'000'000);
    while (le.back() == '0') le.pop_back();
    std::string line = fmt::format("lat_seconds_bucket{{le=\"{}\"}} {}\n", le, h.CountThrough(b));
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_NE(text.find(fmt::format("lat_seconds_bucket{{le=\"+Inf\"}} {}\n", h.count())), std::string::npos);
  EXPECT_NE(text.find(fmt::format("lat_seconds_count {}\n", h.count())), std::string::npos);
  // Bounds ascend (the format requires it) from ~10us to ~10s.
  const auto& bounds = Exposition::BucketBounds();
  for (size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
  EXPECT_GE(Histogram::UpperOf(bounds.front()), 10'000u);
  EXPECT_GE(Histogram::UpperOf(bounds.back()), 10'000'000'000u);
}

TEST(Families, LoadErrorsByClass) {
  load::LoadStats s;
  s.target = 10;
  s.attempted = 10;
  s.opened = 7;
  s.failed = 3;
  s.errors.Record(EADDRNOTAVAIL);
  s.errors.Record(EADDRNOTAVAIL);
  s.errors.Record(ECONNREFUSED);
  std::string text = LoadMetrics(s, 5, {{"rank", "1"}});
  EXPECT_NE(text.find("tcpmax_load_opened_total{rank=\"1\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("tcpmax_load_errors_total{rank=\"1\",class=\"EADDRNOTAVAIL\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("tcpmax_load_errors_total{rank=\"1\",class=\"ECONNREFUSED\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tcpmax_load_held{rank=\"1\"} 7\n"), std::string::npos);
}

std::string Get(uint16_t port, const std::string& request) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "connect failed";
  (void)!::write(fd.get(), request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(MetricsServer, ServesTheLatestPublishedText) {
  auto at = ParseMetricsAddress("127.0.0.1:0");
  ASSERT_TRUE(at);
  auto server = MetricsServer::Start(*at);
  ASSERT_TRUE(server) << server.error().ToString();
  uint16_t port = (*server)->endpoint().port;
  ASSERT_NE(port, 0);
  (*server)->Publish("a 1\n");
  (*server)->Publish("a 2\n");
  std::string r = Get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "a 2\n");
  EXPECT_EQ(Get(port, "GET /other HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0), 0u);
  EXPECT_EQ(Get(port, "POST /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405", 0), 0u);
  EXPECT_EQ((*server)->scrapes(), 1u);
}

TEST(MetricsServer, BadAddressesAndBusyPorts) {
  EXPECT_FALSE(ParseMetricsAddress("nowhere"));
  EXPECT_FALSE(ParseMetricsAddress("127.0.0.1:9000-9001"));
  auto first = MetricsServer::Start(*ParseMetricsAddress("127.0.0.1:0"));
  ASSERT_TRUE(first);
  auto second = MetricsServer::Start((*first)->endpoint());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EADDRINUSE);
}

}  // namespace
}  // namespace tcpmax::metrics
