#include "dist/live.h"

#include <charconv>

#include <fmt/format.h>

#include "core/clock.h"

namespace tcpmax::dist {

void LiveTotals::ToArray(uint64_t out[kFields]) const {
  const uint64_t v[kFields] = {target, attempted, opened, failed, held, done, stop_asked, ranks};
  for (int i = 0; i < kFields; ++i) out[i] = v[i];
}

LiveTotals LiveTotals::FromArray(const uint64_t in[kFields]) {
  return LiveTotals{in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]};
}

Result<StopWhen> StopWhen::Parse(std::string_view text) {
  StopWhen s;
  auto bad = [&] {
    return PlainError(fmt::format("'{}': expected failed, opened or held, then > or >=, then a count or a percent "
                                  "of the target (failed>1%)",
                                  text));
  };
  size_t op = text.find('>');
  if (op == std::string_view::npos) return bad();
  std::string_view what = text.substr(0, op), rest = text.substr(op + 1);
  if (what == "failed") {
    s.what = What::kFailed;
  } else if (what == "opened") {
    s.what = What::kOpened;
  } else if (what == "held") {
    s.what = What::kHeld;
  } else {
    return bad();
  }
  if (!rest.empty() && rest[0] == '=') {
    s.or_equal = true;
    rest.remove_prefix(1);
  }
  if (!rest.empty() && rest.back() == '%') {
    s.percent = true;
    rest.remove_suffix(1);
  }
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), s.value);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || s.value < 0 ||
      (s.percent && s.value > 100)) {
    return bad();
  }
  return s;
}

bool StopWhen::Met(const LiveTotals& t) const {
  uint64_t v = what == What::kFailed ? t.failed : what == What::kOpened ? t.opened : t.held;
  double limit = percent ? value / 100.0 * static_cast<double>(t.target) : value;
  if (percent && t.target == 0) return false;
  double x = static_cast<double>(v);
  return or_equal ? x >= limit : x > limit;
}

std::string StopWhen::ToString() const {
  const char* name = what == What::kFailed ? "failed" : what == What::kOpened ? "opened" : "held";
  return fmt::format("{}>{}{}{}", name, or_equal ? "=" : "", value, percent ? "%" : "");
}

Coordinator::Coordinator(Reduce reduce, uint64_t period_ns, std::optional<StopWhen> stop_when,
                         const std::atomic<bool>& signal_stop, std::function<void(const LiveTotals&)> on_totals)
    : reduce_(std::move(reduce)),
      period_ns_(period_ns),
      stop_when_(stop_when),
      signal_stop_(signal_stop),
      on_totals_(std::move(on_totals)) {
  local_.ranks = 1;
  thread_ = std::thread([this] { Loop(); });
}

Coordinator::~Coordinator() {
  if (thread_.joinable()) thread_.join();
}

std::string Coordinator::stop_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

void Coordinator::Update(const LiveTotals& local) {
  std::lock_guard<std::mutex> lock(mu_);
  if (done_) return;
  local_ = local;
  local_.ranks = 1;
  local_.done = 0;
}

LiveTotals Coordinator::Finish(const LiveTotals& final_totals) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    local_ = final_totals;
    local_.ranks = 1;
    local_.done = 1;
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

void Coordinator::Loop() {
  uint64_t next = MonotonicNanos() + period_ns_;
  for (;;) {
    LiveTotals mine;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Sleep until the step; a finished rank steps at once (the others
      // are still in the reduction, or will be soon).
      while (!done_ && MonotonicNanos() < next) {
        cv_.wait_for(lock, std::chrono::nanoseconds(next - std::min(next, MonotonicNanos())));
      }
      mine = local_;
    }
    mine.stop_asked = signal_stop_.load() ? 1 : 0;
    LiveTotals job = reduce_(mine);
    next += period_ns_;
    std::string reason;
    if (job.stop_asked > 0) {
      reason = "signal";
    } else if (stop_when_ && stop_when_->Met(job)) {
      reason = stop_when_->ToString();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = job;
      if (!reason.empty() && reason_.empty()) reason_ = reason;
    }
    if (!reason.empty()) stop_ = true;
    if (on_totals_) on_totals_(job);
    if (job.done == job.ranks) return;
  }
}

}  // namespace tcpmax::dist
