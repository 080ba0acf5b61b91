// The session-layer flags of `tcpmax load` (--proto, --tls and its options,
// --first-message, --message, --message-rate, --lifetime, --idle-timeout,
// --path, --host, --mqtt-keepalive), defined once: AddSessionFlags puts them
// on the command, ValidateSessionFlags turns them into load::SessionOptions
// with one-line errors naming the flag (exit 2 at the caller).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "load/session.h"

namespace tcpmax::cli {

struct SessionFlags {
  std::string proto = "raw", sni, alpn, ca, tls_version, first_message, message, message_rate, request_rate,
              lifetime,
              idle_timeout, path = "/", host, mqtt_keepalive = "60s";
  bool tls = false, insecure = false, release_buffers = false, no_resume = false, park = false;
};

void AddSessionFlags(CLI::App& app, SessionFlags& f);

// `ping_ns` is the --ping interval already parsed (0: none); for MQTT it
// becomes the keepalive when not given, since PINGREQ is MQTT's ping.
Result<load::SessionOptions> ValidateSessionFlags(const SessionFlags& f, uint64_t* ping_ns);

}  // namespace tcpmax::cli
