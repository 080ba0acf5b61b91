#include "userland/engine_loop.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "core/clock.h"

namespace tcpmax::userland {
namespace {

constexpr size_t kBatch = 128;

// Builds outgoing segments straight into the transmit batch, flushing it to
// the link when it fills.
class BatchSink : public tcp::PacketSink {
 public:
  BatchSink(link::PacketLink& link) : link_(link), batch_(kBatch) {}
  void Send(const wire::SegmentSpec& spec) override {
    if (batch_.full()) Flush();
    size_t n = wire::BuildSegment(spec, batch_.NextSlot());
    if (n > 0) batch_.Push(n);
  }
  void Flush() {
    if (batch_.size() == 0 || failed()) return;
    auto r = link_.Send(batch_);
    if (!r) error_ = r.error();
    batch_.Clear();
  }
  const Error& error() const { return error_; }
  bool failed() const { return !error_.context.empty(); }

 private:
  link::PacketLink& link_;
  link::PacketBatch batch_;
  Error error_;
};

}  // namespace

Result<void> RunLoop(link::PacketLink& link, const std::atomic<bool>& stop, const LoopHooks& hooks) {
  BatchSink sink(link);
  link::PacketBatch rx(kBatch);
  uint64_t next_report = MonotonicNanos() + 1'000'000'000ull;
  while (!stop.load(std::memory_order_relaxed)) {
    auto got = link.Receive(rx);
    if (!got) return tl::unexpected(got.error());
    uint64_t now = MonotonicNanos();
    for (size_t i = 0; i < rx.size(); ++i) hooks.input(rx.Packet(i), now, sink);
    uint64_t sent = hooks.tick ? hooks.tick(now, sink) : 0;
    sink.Flush();
    if (sink.failed()) return tl::unexpected(sink.error());
    if (now >= next_report) {
      if (hooks.every_second) hooks.every_second(now);
      next_report = now + 1'000'000'000ull;
    }
    if (hooks.done && hooks.done(now)) break;
    if (*got == 0 && sent == 0) {
      auto w = link.Wait(hooks.idle_wait_ms);
      if (!w) return tl::unexpected(w.error());
    }
  }
  return {};
}

double CpuSeconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

}  // namespace tcpmax::userland
