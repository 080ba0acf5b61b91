// tcpmax serve: hold, echo or answer HTTP on many connections; print what was
// held, accepted and closed, and the user-space memory per held connection.
// Flags -> serve::ServeRunOptions -> serve::RunServe -> report/serve.h.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "cli/cli_util.h"
#include "cli/metrics_flag.h"
#include "metrics/families.h"
#include "core/engine.h"
#include "core/units.h"
#include "report/serve.h"
#include "serve/listener.h"
#include "serve/run.h"
#include "serve/server.h"
#include "sys/rlimit.h"
#include "proto/tls.h"
#include "proto/tls_cert.h"
#include "sys/reader.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "serve";

struct Options {
  std::string listen = "127.0.0.1:7000";
  std::string engine = "auto";
  std::string mode = "hold";
  int workers = 0;
  int backlog = 0;
  std::string max_conns;
  std::string duration;
  std::string interval = "1s";
  bool json = false;
  bool progress_json = false;
  std::string proto = "raw", cert, key, alpn;
  bool tls = false, release_buffers = false, park = false;
  bool no_watch = false;
};

void AddFlags(CLI::App& app, Options& f) {
  app.add_option("--listen", f.listen, "ADDR:PORT[,...] or ADDR:LO-HI port ranges; [::1]:PORT for IPv6; port 0 = any");
  app.add_option("--engine", f.engine,
                 "auto (uring when it works, else epoll), epoll or uring; --tls and --proto ws run on either "
                 "(auto picks epoll for them; uring holds them on direct descriptors in one process)")
      ->check(Values(Names(kEngines, EngineName)));
  app.add_option("--mode", f.mode, "hold (read and discard), echo, or http (keep-alive 200 OK)")
      ->check(Values(Names(serve::kServeModes, serve::ToString)));
  app.add_option("--workers", f.workers, "worker threads, each with its own SO_REUSEPORT listeners (0 = one per core)");
  app.add_option("--backlog", f.backlog, "listen backlog (0 = net.core.somaxconn; capped at it)");
  app.add_option("--max-conns", f.max_conns, "hold at most this many connections (e.g. 100k); more are reset");
  app.add_flag("--no-watch", f.no_watch,
               "hold mode: do not watch accepted connections (no epoll item or armed io_uring recv per socket, "
               "about 200 B of kernel memory less per connection); a client's close is then not seen and its "
               "socket stays in CLOSE-WAIT until serve exits");
  app.add_option("--duration", f.duration, "stop after this long (e.g. 30s); default: until SIGINT/SIGTERM");
  app.add_option("--interval", f.interval, "progress interval (e.g. 1s, 200ms)");
  app.add_flag("--json", f.json, "print the final summary as one JSON object on stdout (schema tcpmax.serve/2)");
  app.add_flag("--progress-json", f.progress_json, "progress as JSON lines on stderr (ready, then progress)");
  app.add_option("--proto", f.proto,
                 "raw, or ws: RFC 6455 WebSocket (upgrade, then hold: discard; echo: every frame back; http: "
                 "plain requests 200, upgrades echo). ws and --tls run on either engine (auto: epoll)")
      ->check(Values({"raw", "ws"}));
  app.add_flag("--tls", f.tls, "TLS (OpenSSL) on every connection, under the mode and --proto");
  app.add_option("--cert", f.cert,
                 "PEM certificate chain for --tls (default: a self-signed one for localhost/127.0.0.1, written "
                 "to a temporary directory that is named on stderr and removed at exit)");
  app.add_option("--key", f.key, "PEM private key of --cert");
  app.add_option("--alpn", f.alpn, "ALPN protocols accepted, comma-separated, in preference order");
  app.add_flag("--tls-release-buffers", f.release_buffers,
               "SSL_MODE_RELEASE_BUFFERS: free OpenSSL's buffers of idle connections");
  app.add_flag("--tls-park", f.park, "TLS 1.3: park idle sessions: once the handshake is done (and the session ticket stored), free OpenSSL's SSL object and keep only the traffic keys and sequence numbers (about 0.5 KB instead of 13-48 KB); records are then sealed and opened by tcpmax (AES-GCM, ChaCha20-Poly1305; KeyUpdate applied). TLS 1.2 sessions are not parked");
}

// A self-signed pair in a fresh temporary directory; removed by the guard.
struct TempPair {
  std::string dir;
  ~TempPair() {
    if (dir.empty()) return;
    ::unlink((dir + "/cert.pem").c_str());
    ::unlink((dir + "/key.pem").c_str());
    ::rmdir(dir.c_str());
  }
};

Result<void> WriteSelfSigned(TempPair* pair, proto::TlsConfig* c) {
  auto pem = proto::MakeSelfSigned("localhost");
  if (!pem) return tl::unexpected(pem.error());
  char tmpl[] = "/tmp/tcpmax-serve-tls.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return ErrnoError("mkdtemp /tmp/tcpmax-serve-tls.XXXXXX");
  pair->dir = tmpl;
  c->cert_file = pair->dir + "/cert.pem";
  c->key_file = pair->dir + "/key.pem";
  for (const auto& [path, text] : {std::pair{c->cert_file, pem->cert_pem}, std::pair{c->key_file, pem->key_pem}}) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("create " + path);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) return ErrnoError("write " + path);
  }
  return {};
}

// --proto, --tls and friends into run->server.session; bad input is a usage error.
Result<void> ValidateSession(const Options& f, serve::ServeRunOptions* run, TempPair* pair, std::string* note) {
  if (f.proto != "raw" && f.proto != "ws") return PlainError("--proto '" + f.proto + "': expected raw or ws");
  if (!f.tls && (!f.cert.empty() || !f.key.empty() || !f.alpn.empty() || f.release_buffers || f.park)) {
    return PlainError("--cert, --key, --alpn, --tls-release-buffers and --tls-park need --tls");
  }
  run->server.session.ws = f.proto == "ws";
  if (!f.tls) return {};
  if (f.cert.empty() != f.key.empty()) return PlainError("--cert and --key: give both, or neither for a self-signed pair");
  proto::TlsConfig c;
  c.server = true;
  c.release_buffers = f.release_buffers;
  c.park = f.park;
  for (size_t at = 0; at < f.alpn.size();) {
    size_t comma = std::min(f.alpn.find(',', at), f.alpn.size());
    if (comma > at) c.alpn.push_back(f.alpn.substr(at, comma - at));
    at = comma + 1;
  }
  if (f.cert.empty()) {
    auto made = WriteSelfSigned(pair, &c);
    if (!made) return tl::unexpected(made.error());
    *note = "--tls: self-signed certificate for localhost and 127.0.0.1 in " + c.cert_file +
            " (a client's CA file); key " + c.key_file + "; removed at exit";
  } else {
    for (const auto& [flag, file] : {std::pair{"--cert ", f.cert}, std::pair{"--key ", f.key}}) {
      auto readable = sys::ReadWholeFile(file);
      if (!readable) return PlainError(flag + file + ": " + readable.error().ToString());
    }
    c.cert_file = f.cert;
    c.key_file = f.key;
  }
  auto ctx = proto::TlsContext::Create(c);
  if (!ctx) return PlainError("--tls: " + ctx.error().context);
  run->server.session.tls = std::move(*ctx);
  return {};
}

Result<serve::ServeMode> ParseMode(const std::string& mode) {
  if (mode == "hold") return serve::ServeMode::kHold;
  if (mode == "echo") return serve::ServeMode::kEcho;
  if (mode == "http") return serve::ServeMode::kHttp;
  return PlainError("--mode '" + mode + "': expected hold, echo or http");
}

Result<serve::ServeRunOptions> Validate(const Options& f) {
  serve::ServeRunOptions run;
  auto eps = serve::ParseListenSpec(f.listen);
  if (!eps) return PlainError("--listen " + eps.error().context);
  run.server.listen = *eps;
  auto mode = ParseMode(f.mode);
  if (!mode) return tl::unexpected(mode.error());
  run.server.mode = *mode;
  if (f.no_watch && run.server.mode != serve::ServeMode::kHold) {
    return PlainError("--no-watch: only in --mode hold (echo and http must read every connection)");
  }
  run.server.watch_held = !f.no_watch;
  auto engine = ParseEngine(f.engine);
  if (!engine) return PlainError("--engine " + engine.error().context);
  run.server.engine = *engine;
  if (f.workers < 0 || f.workers > 1024) return PlainError("--workers " + std::to_string(f.workers) + ": expected 1-1024");
  run.server.workers = f.workers > 0 ? f.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (f.backlog < 0) return PlainError("--backlog " + std::to_string(f.backlog) + ": must be positive");
  run.server.backlog = f.backlog;
  if (!f.max_conns.empty()) {
    auto n = ParseCount(f.max_conns);
    if (!n || *n == 0) return PlainError("--max-conns '" + f.max_conns + "': expected a positive count like 100k");
    run.server.max_conns = *n;
  }
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || d->count() <= 0) return PlainError("--duration '" + f.duration + "': expected a duration like 30s");
    run.duration_ns = static_cast<uint64_t>(d->count());
  }
  auto iv = ParseDuration(f.interval);
  if (!iv || iv->count() < 10'000'000) return PlainError("--interval '" + f.interval + "': expected a duration of at least 10ms");
  run.interval_ns = static_cast<uint64_t>(iv->count());
  return run;
}

void PrintLine(const nlohmann::json& j) {
  fmt::print(stderr, "{}\n", j.dump());
  std::fflush(stderr);
}

}  // namespace

int RunServe(int argc, char** argv) {
  CLI::App app{"Hold, echo or answer HTTP on inbound TCP connections (epoll or io_uring direct descriptors)",
               std::string(kName)};
  ConfigureApp(app);
  Options f;
  AddFlags(app, f);
  std::string metrics_addr;
  AddMetricsFlag(app, metrics_addr);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  // First: from here on a closed stdout or stderr must not kill the run.
  const std::atomic<bool>& stop = StopOnSignals();
  auto run = Validate(f);
  if (!run) return UsageError(kName, run.error().context);
  TempPair self_signed;
  std::string tls_note;
  if (auto ok = ValidateSession(f, &*run, &self_signed, &tls_note); !ok) return UsageError(kName, ok.error().context);
  if (f.no_watch && run->server.session.active()) {
    return UsageError(kName, "--no-watch: not with --tls or --proto ws (a session must read its connection)");
  }
  // Sessions run on both engines; auto keeps them on epoll (one fd each,
  // --processes past the limit), --engine uring puts them on direct descriptors.
  if (run->server.session.active() && run->server.engine == Engine::kAuto) run->server.engine = Engine::kEpoll;
  if (!tls_note.empty()) fmt::print(stderr, "tcpmax serve: {}\n", tls_note);
  if (!metrics_addr.empty()) {
    if (auto at = ParseMetricsFlag(metrics_addr); !at) return UsageError(kName, at.error().context);
  }
  auto metrics_server = StartMetrics(kName, metrics_addr);
  if (!metrics_server) return RuntimeError(kName, metrics_server.error());
  if (*metrics_server) (*metrics_server)->Publish(metrics::ServeMetrics(serve::ServeProgress{}));
  if (auto raised = sys::RaiseNofileToHard(); !raised) return RuntimeError(kName, raised.error());
  report::ServeRunInfo info;
  auto engine = serve::ChooseEngine(run->server.engine, &info.engine_note);
  if (!engine) return RuntimeError(kName, Error{0, "--engine uring: " + engine.error().context});
  run->server.engine = *engine;
  info.options = run->server;

  Progress progress;
  serve::ServeObserver obs;
  obs.on_ready = [&](const serve::Server& s) {
    if (f.progress_json) return PrintLine(report::ServeReadyJson(s.endpoints(), info, getpid()));
    serve::ServeOutcome ready;
    ready.endpoints = s.endpoints();
    ready.backlog = s.backlog();
    fmt::print(stderr, "{}", report::ServeReadyText(ready, info));
    std::fflush(stderr);
  };
  obs.on_progress = [&](const serve::ServeProgress& p) {
    if (*metrics_server) (*metrics_server)->Publish(metrics::ServeMetrics(p));
    if (f.progress_json) return PrintLine(report::ServeProgressJson(p));
    progress.Update(report::ServeProgressLine(p));
  };
  auto outcome = serve::RunServe(*run, stop, obs);
  progress.Finish();
  if (!outcome) return RuntimeError(kName, outcome.error());
  info.stop_reason = outcome->by_duration ? "duration" : StopSignalName();
  if (f.json) {
    fmt::print("{}\n", report::ServeSummaryJson(*outcome, info).dump());
  } else {
    fmt::print("{}", report::ServeSummaryText(*outcome, info));
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace tcpmax::cli
