#include "cli/dist_live.h"

#include <cstdio>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "core/units.h"
#if TCPMAX_MPI
#include "dist/mpi/mpi_session.h"
#endif

namespace tcpmax::cli {
namespace {

dist::LiveTotals LocalTotals(const load::LoadStats& s) {
  dist::LiveTotals t;
  t.target = s.target;
  t.attempted = s.attempted;
  t.opened = s.opened;
  t.failed = s.failed;
  t.held = s.held();
  t.ranks = 1;
  return t;
}

constexpr uint64_t kReducePeriodNs = 1'000'000'000;  // 1 Hz

}  // namespace

struct DistLive::Impl {
  const std::atomic<bool>& signal_stop;
  std::optional<dist::StopWhen> stop_when;
  std::atomic<bool> local_stop{false};  // uncoordinated --stop-when
  std::string local_reason;
#if TCPMAX_MPI
  std::unique_ptr<dist::MpiSession> mpi;
#endif
  std::unique_ptr<dist::Coordinator> coordinator;
  Progress progress;
  bool finished = false;

  explicit Impl(const std::atomic<bool>& s) : signal_stop(s) {}
};

DistLive::DistLive(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DistLive::~DistLive() {
  // A way out before Finish (an error): take part as done until every rank
  // is, so no rank waits forever in a reduction.
  if (impl_->coordinator && !impl_->finished) impl_->coordinator->Finish(dist::LiveTotals{});
}

Result<std::unique_ptr<DistLive>> DistLive::Start(const DistRun& run, const std::string& stop_when,
                                                  const std::atomic<bool>& signal_stop) {
  auto impl = std::make_unique<Impl>(signal_stop);
  if (!stop_when.empty()) {
    auto s = dist::StopWhen::Parse(stop_when);
    if (!s) return PlainError("--stop-when " + s.error().context);
    impl->stop_when = *s;
  }
  std::optional<int64_t> offset;
#if TCPMAX_MPI
  if (run.rank.launcher == "openmpi" || run.rank.launcher == "pmi") {
    auto mpi = dist::MpiSession::Init();
    if (!mpi) return tl::unexpected(mpi.error());
    if ((*mpi)->rank() != run.rank.rank || (*mpi)->size() != run.rank.size) {
      return PlainError(fmt::format("MPI says rank {} of {}, the launcher's variables {} of {}", (*mpi)->rank(),
                                    (*mpi)->size(), run.rank.rank, run.rank.size));
    }
    offset = (*mpi)->ClockOffsetToRank0();
    impl->mpi = std::move(*mpi);
    dist::MpiSession* session = impl->mpi.get();
    Impl* raw = impl.get();
    bool print = run.rank.rank == 0;
    impl->coordinator = std::make_unique<dist::Coordinator>(
        [session](const dist::LiveTotals& local) { return session->AllreduceSum(local); }, kReducePeriodNs,
        impl->stop_when, signal_stop, [raw, print](const dist::LiveTotals& t) {
          if (print) raw->progress.Update(JobLine(t));
        });
    dist::LiveTotals first;  // the job's target from the first step on
    first.target = run.share.connections;
    impl->coordinator->Update(first);
  }
#else
  (void)run;
#endif
  std::unique_ptr<DistLive> live(new DistLive(std::move(impl)));
  live->clock_offset_ = offset;
  return live;
}

bool DistLive::coordinated() const { return impl_->coordinator != nullptr; }

std::optional<int64_t> DistLive::WaitForStart(const std::optional<dist::WallTime>& start) {
#if TCPMAX_MPI
  if (impl_->mpi) impl_->mpi->Barrier();
#endif
  if (!start) return 0;
  return dist::WaitUntil(*start, impl_->signal_stop);
}

const std::atomic<bool>& DistLive::stop() const {
  if (impl_->coordinator) return impl_->coordinator->stop();
  if (impl_->stop_when) return impl_->local_stop;
  return impl_->signal_stop;
}

std::string DistLive::stop_reason() const {
  if (impl_->coordinator) return impl_->coordinator->stop_reason();
  return impl_->local_reason;
}

void DistLive::Update(const load::LoadStats& s) {
  dist::LiveTotals t = LocalTotals(s);
  if (impl_->coordinator) return impl_->coordinator->Update(t);
  if (!impl_->stop_when) return;
  if (impl_->signal_stop.load()) impl_->local_stop = true;
  if (impl_->local_reason.empty() && impl_->stop_when->Met(t)) {
    impl_->local_reason = impl_->stop_when->ToString();
    impl_->local_stop = true;
  }
}

std::optional<dist::LiveTotals> DistLive::Finish(const load::LoadStats& s) {
  if (!impl_->coordinator) return std::nullopt;
  dist::LiveTotals job = impl_->coordinator->Finish(LocalTotals(s));
  impl_->finished = true;
  impl_->progress.Finish();
  return job;
}

std::string JobLine(const dist::LiveTotals& t) {
  return fmt::format("job: opened {}/{}  held {}  failed {}  ({} ranks, {} done)", FormatCount(t.opened),
                     FormatCount(t.target), FormatCount(t.held), FormatCount(t.failed), t.ranks, t.done);
}

}  // namespace tcpmax::cli
