#include "cli/metrics_flag.h"

#include <cstdio>

#include <fmt/format.h>

namespace tcpmax::cli {

void AddMetricsFlag(CLI::App& app, std::string& addr) {
  app.add_option("--metrics", addr,
                 "serve Prometheus metrics on ADDR:PORT (GET /metrics) while running, e.g. 127.0.0.1:9464; "
                 "port 0 picks one (printed on stderr)");
}

Result<Endpoint> ParseMetricsFlag(const std::string& addr) {
  auto at = metrics::ParseMetricsAddress(addr);
  if (!at) return PlainError("--metrics " + at.error().context);
  return at;
}

Result<std::unique_ptr<metrics::MetricsServer>> StartMetrics(std::string_view command, const std::string& addr) {
  if (addr.empty()) return std::unique_ptr<metrics::MetricsServer>();
  auto at = ParseMetricsFlag(addr);
  if (!at) return tl::unexpected(at.error());
  auto server = metrics::MetricsServer::Start(*at);
  if (!server) return tl::unexpected(server.error());
  fmt::print(stderr, "tcpmax {}: metrics on http://{}/metrics\n", command, (*server)->endpoint().ToString());
  std::fflush(stderr);
  return server;
}

}  // namespace tcpmax::cli
