// SessionStats: the figures of the session layer of `tcpmax load` (see
// load/session.h), summed like LoadStats (each worker owns one).
// Thread-safety: plain values.
#pragma once

#include <cstdint>

#include "core/histogram.h"
#include "proto/proto_error.h"

namespace tcpmax::load {

struct SessionStats {
  uint64_t ready = 0;             // sessions past TLS and the protocol's opening
  uint64_t pending = 0;           // connected sessions still opening (a gauge): the ramp waits for them
  uint64_t tls_done = 0, tls_resumed = 0;
  uint64_t tls_parked = 0;        // sessions whose SSL object was freed (--tls-park), cumulative
  uint64_t messages_sent = 0, messages_received = 0, echo_ok = 0;
  uint64_t reopened = 0;          // --lifetime: sessions closed on purpose and opened again
  uint64_t closes_sent = 0;       // --lifetime: WebSocket close frames (1000) or MQTT DISCONNECTs sent
  uint64_t closes_answered = 0;   // WebSocket: the peer's close frame came back (RFC 6455 5.5.1)
  uint64_t http_status[5] = {};   // 1xx..5xx responses
  uint64_t bytes_sent = 0, bytes_received = 0;  // application bytes (inside TLS)
  proto::ProtoErrorCounts errors;
  Histogram tls_ns;               // connect done -> TLS handshake done
  Histogram ready_ns;             // connect done -> upgrade 101 / CONNACK / first response
  Histogram message_rtt_ns;       // message sent -> its answer (echo, response, own PUBLISH)

  void Merge(const SessionStats& o) {
    ready += o.ready;
    pending += o.pending;
    tls_done += o.tls_done;
    tls_resumed += o.tls_resumed;
    tls_parked += o.tls_parked;
    messages_sent += o.messages_sent;
    messages_received += o.messages_received;
    echo_ok += o.echo_ok;
    reopened += o.reopened;
    closes_sent += o.closes_sent;
    closes_answered += o.closes_answered;
    for (int i = 0; i < 5; ++i) http_status[i] += o.http_status[i];
    bytes_sent += o.bytes_sent;
    bytes_received += o.bytes_received;
    errors.Merge(o.errors);
    tls_ns.Merge(o.tls_ns);
    ready_ns.Merge(o.ready_ns);
    message_rtt_ns.Merge(o.message_rtt_ns);
  }
};

}  // namespace tcpmax::load
