// Counting HTTP/1.1 request heads across reads, with pipelining.
#include "serve/http_scan.h"

#include <gtest/gtest.h>

#include <string>

namespace tcpmax::serve {
namespace {

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST(HttpScan, OneRequest) {
  HttpScanState s{};
  EXPECT_EQ(CountHttpRequests(kGet, &s), 1u);
  EXPECT_EQ(s, HttpScanState::kText);
}

TEST(HttpScan, PipelinedRequestsInOneRead) {
  std::string three = std::string(kGet) + std::string(kGet) + std::string(kGet);
  HttpScanState s{};
  EXPECT_EQ(CountHttpRequests(three, &s), 3u);
}

TEST(HttpScan, RequestSplitAtEveryByteCountsOnce) {
  for (size_t cut = 1; cut < kGet.size(); ++cut) {
    HttpScanState s{};
    size_t n = CountHttpRequests(kGet.substr(0, cut), &s);
    n += CountHttpRequests(kGet.substr(cut), &s);
    EXPECT_EQ(n, 1u) << "cut at " << cut;
  }
}

TEST(HttpScan, BareLfLineEndsAreAccepted) {
  HttpScanState s{};
  EXPECT_EQ(CountHttpRequests("GET / HTTP/1.1\nHost: x\n\n", &s), 1u);
}

TEST(HttpScan, IncompleteHeadIsNotARequest) {
  HttpScanState s{};
  EXPECT_EQ(CountHttpRequests("GET / HTTP/1.1\r\nHost: x\r\n", &s), 0u);
  EXPECT_EQ(CountHttpRequests("\r\n", &s), 1u);
}

TEST(HttpScan, LeadingEmptyLineIsIgnored) {
  // RFC 9112 section 2.2: ignore at least one empty line before the request-line.
  HttpScanState s{};
  EXPECT_EQ(CountHttpRequests(std::string("\r\n") + std::string(kGet), &s), 1u);
}

TEST(HttpScan, ResponsesAreWellFormedAndBatched) {
  std::string_view one = HttpResponse();
  EXPECT_EQ(one.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_NE(one.find("Content-Length: 3\r\n\r\nok\n"), std::string_view::npos);
  EXPECT_EQ(HttpResponses(5).size(), 5 * one.size());
  EXPECT_EQ(HttpResponses(1000).size(), kHttpBatch * one.size());
}

}  // namespace
}  // namespace tcpmax::serve
