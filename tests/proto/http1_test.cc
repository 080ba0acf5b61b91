#include "proto/http1.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tcpmax::proto {
namespace {

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Feeds `text` in pieces cut at `cuts` and collects the statuses of complete
// responses; -1 marks an error.
std::vector<int> FeedResponses(const std::string& text, std::vector<size_t> cuts) {
  ResponseParser p;
  std::vector<int> out;
  cuts.push_back(text.size());
  size_t at = 0;
  for (size_t cut : cuts) {
    while (at < cut) {
      HttpStep s = p.Feed(U(text) + at, cut - at);
      at += s.used;
      if (s.event == HttpEvent::kError) {
        out.push_back(-1);
        return out;
      }
      if (s.event == HttpEvent::kMessage) out.push_back(p.status());
      if (s.event == HttpEvent::kNone) break;
    }
  }
  return out;
}

const std::string kTwo =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello"
    "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n"
    "Trailer: yes\r\n\r\n";

TEST(Http1Response, ContentLengthThenChunkedAtEveryBoundary) {
  for (size_t cut = 0; cut <= kTwo.size(); ++cut) {
    EXPECT_EQ(FeedResponses(kTwo, {cut}), (std::vector<int>{200, 404})) << "cut at " << cut;
  }
}

TEST(Http1Response, ByteAtATime) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < kTwo.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(FeedResponses(kTwo, cuts), (std::vector<int>{200, 404}));
}

TEST(Http1Response, NoBodyStatusesAndInterim) {
  EXPECT_EQ(FeedResponses("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", {}),
            (std::vector<int>{204, 304}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", {}),
            (std::vector<int>{200}));
}

TEST(Http1Response, BareLfLinesAndCaseInsensitiveNames) {
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\ncontent-LENGTH:  2 \n\nokHTTP/1.1 500 E\nContent-Length: 0\n\n", {}),
            (std::vector<int>{200, 500}));
}

TEST(Http1Response, ChunkedEdgeCases) {
  // Upper-case hex, a zero-size last chunk right away, an extension on it.
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0;x=y\r\n\r\n",
                          {}),
            (std::vector<int>{200}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {}), (std::vector<int>{200}));
  // Bad: no size digits, non-hex size, chunk data longer than its size, size past 2^60.
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", {}),
            (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", {}),
            (std::vector<int>{-1}));
  // chunked not last, or an unknown coding: refused (RFC 9112 6.3 item 4).
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", {}), (std::vector<int>{-1}));
}

TEST(Http1Response, MalformedHeads) {
  EXPECT_EQ(FeedResponses("HTTP/2 200 OK\r\n\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 2x0 OK\r\n\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", {}),
            (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", {}), (std::vector<int>{-1}));
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", {}), (std::vector<int>{-1}));
  // A status line past 512 bytes is refused even when its LF comes in the same read (found by http1_fuzz).
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK" + std::string(600, 'x') + "\r\n\r\n", {}), (std::vector<int>{-1}));
  // A long unrelated header is skipped, not refused.
  EXPECT_EQ(FeedResponses("HTTP/1.1 200 OK\r\nX-Long: " + std::string(500, 'a') + "\r\nContent-Length: 0\r\n\r\n", {}),
            (std::vector<int>{200}));
}

TEST(Http1Response, BodyUntilCloseAndCutShort) {
  ResponseParser p;
  std::string r = "HTTP/1.0 200 OK\r\n\r\nsome body";
  EXPECT_EQ(p.Feed(U(r), r.size()).event, HttpEvent::kNone);
  EXPECT_TRUE(p.OnClose());
  EXPECT_TRUE(p.close_after());
  ResponseParser q;
  std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  EXPECT_EQ(q.Feed(U(cut), cut.size()).event, HttpEvent::kNone);
  EXPECT_FALSE(q.OnClose());
  EXPECT_TRUE(q.mid_message());
}

TEST(Http1Response, ConnectionClose) {
  ResponseParser p;
  std::string r = "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(p.Feed(U(r), r.size()).event, HttpEvent::kMessage);
  EXPECT_TRUE(p.close_after());
}

TEST(Http1Request, PipelinedWithBodiesAtEveryBoundary) {
  std::string text =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "GET / HTTP/1.0\r\n\r\n";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    RequestParser p;
    std::vector<bool> gets;
    std::vector<bool> keep;
    size_t at = 0;
    for (size_t end : {cut, text.size()}) {
      while (at < end) {
        HttpStep s = p.Feed(U(text) + at, end - at);
        at += s.used;
        ASSERT_NE(s.event, HttpEvent::kError) << "cut " << cut;
        if (s.event == HttpEvent::kMessage) {
          gets.push_back(p.is_get());
          keep.push_back(p.keep_alive());
        }
        if (s.event == HttpEvent::kNone) break;
      }
    }
    EXPECT_EQ(gets, (std::vector<bool>{true, false, false, true})) << "cut " << cut;
    EXPECT_EQ(keep, (std::vector<bool>{true, true, true, false})) << "cut " << cut;
  }
}

TEST(Http1Request, WebSocketUpgradeFacts) {
  std::string r =
      "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  RequestParser p;
  ASSERT_EQ(p.Feed(U(r), r.size()).event, HttpEvent::kMessage);
  EXPECT_TRUE(p.facts().upgrade_websocket);
  EXPECT_TRUE(p.facts().connection_upgrade);
  EXPECT_TRUE(p.facts().ws_version_13);
  EXPECT_EQ(std::string(p.facts().ws_key), "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(Http1Request, Malformed) {
  for (std::string bad : {"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nSec-WebSocket-Key: short\r\n\r\n"}) {
    RequestParser p;
    EXPECT_EQ(p.Feed(U(bad), bad.size()).event, HttpEvent::kError) << bad;
  }
}

TEST(Http1Request, BuildsKeepAliveGet) {
  std::string out;
  AppendGetRequest(out, "example", "/p", "X-A: 1\r\n");
  EXPECT_EQ(out, "GET /p HTTP/1.1\r\nHost: example\r\nX-A: 1\r\n\r\n");
  RequestParser p;
  ASSERT_EQ(p.Feed(U(out), out.size()).event, HttpEvent::kMessage);
  EXPECT_TRUE(p.keep_alive());
}

}  // namespace
}  // namespace tcpmax::proto
