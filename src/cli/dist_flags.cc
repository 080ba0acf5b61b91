#include "cli/dist_flags.h"

#include <unistd.h>

#include <chrono>

#include "dist/live.h"
#include "dist/rank_result.h"
#include "dist/results_dir.h"
#include "sys/netns.h"
#include "sys/process.h"

namespace tcpmax::cli {
namespace {

// The run id every rank agrees on without talking: --run-id, TCPMAX_RUN_ID,
// the launcher's job id, or the agreed start time.
Result<std::string> RunIdOf(const DistFlags& f, const DistRun& d, const dist::EnvLookup& env) {
  if (!f.run_id.empty()) return f.run_id;
  if (auto id = env("TCPMAX_RUN_ID"); id && !id->empty()) return *id;
  if (!d.rank.job_id.empty()) return d.rank.job_id;
  if (d.start) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d.start->time_since_epoch()).count();
    return "start-" + std::to_string(ms);
  }
  if (d.rank.size == 1) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return "load-" + std::to_string(ms) + "-" + std::to_string(::getpid());
  }
  return PlainError("--results with " + std::to_string(d.rank.size) +
                    " ranks needs a run id every rank shares: --run-id, TCPMAX_RUN_ID or --start-at");
}

}  // namespace

void AddDistFlags(CLI::App& app, DistFlags& f) {
  const char* group = "Distributed runs (docs/distributed.md)";
  app.add_option("--rank", f.rank,
                 "this process's rank (0-based); default: from mpirun (OMPI_COMM_WORLD_RANK), MPICH (PMI_RANK), "
                 "srun (SLURM_PROCID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)")
      ->group(group);
  app.add_option("--size", f.size, "how many ranks (needed with --rank, and for Kubernetes unless TCPMAX_SIZE is set)")
      ->group(group);
  app.add_option("--start-at", f.start_at,
                 "begin at this wall-clock time: RFC 3339 (2026-12-01T09:30:00Z) or +10s after TCPMAX_START_BASE "
                 "(Unix seconds every rank receives; else this process's start)")
      ->group(group);
  app.add_option("--results", f.results,
                 "write DIR/<run id>-rank<N>.json (counts, errors, exact histograms) for tcpmax merge")
      ->group(group);
  app.add_option("--run-id", f.run_id,
                 "the run's id in result files (default: TCPMAX_RUN_ID, the launcher's job id, or the --start-at time)")
      ->group(group);
  app.add_option("--stop-when", f.stop_when,
                 "stop at a condition, e.g. failed>1% (of the target) or held>=50k: under MPI on the job's totals "
                 "(every rank stops at the same step), else on this rank's own")
      ->group(group);
  app.add_option("--netns", f.netns,
                 "open every connection inside named network namespace NAME (ip netns); the rest of the process "
                 "(launcher channels, --metrics) stays where it is")
      ->group(group);
}

Result<void> CheckNetns(const DistFlags& f) {
  if (f.netns.empty()) return {};
  auto fd = sys::OpenNetns(f.netns);
  if (!fd) return PlainError("--netns " + fd.error().ToString());
  return {};
}

Result<DistRun> PrepareDist(const DistFlags& f, load::LoadOptions& opts, bool sources_shared) {
  DistRun d;
  dist::EnvLookup env = dist::ProcessEnv();
  auto rank = dist::DetectRank(env, f.rank, f.size);
  if (!rank) return tl::unexpected(rank.error());
  d.rank = *rank;
  if (opts.connections < static_cast<uint64_t>(d.rank.size)) {
    return PlainError("--connections " + std::to_string(opts.connections) + " is fewer than the " +
                      std::to_string(d.rank.size) + " ranks");
  }
  // A rank in its own namespace (--netns) is a machine of its own.
  int local_rank = opts.netns.empty() ? d.rank.local_rank : 0;
  int local_size = opts.netns.empty() ? d.rank.local_size : 1;
  auto share = dist::PartitionLoad(opts.connections, opts.targets, opts.sources, sources_shared, d.rank.rank,
                                   d.rank.size, local_rank, local_size);
  if (!share) return tl::unexpected(share.error());
  d.share = *share;
  opts.connections = d.share.connections;
  opts.rate /= d.rank.size;  // --rate is the whole run's
  opts.targets = d.share.targets;
  opts.source_window = d.share.sources;
  if (!f.stop_when.empty()) {
    if (auto s = dist::StopWhen::Parse(f.stop_when); !s) return PlainError("--stop-when " + s.error().context);
  }
  if (!f.start_at.empty()) {
    auto now = std::chrono::system_clock::now();
    dist::WallTime base = now;
    if (auto b = env("TCPMAX_START_BASE"); b && f.start_at[0] == '+') {
      auto parsed = dist::ParseUnixSeconds(*b);
      if (!parsed) return tl::unexpected(parsed.error());
      base = *parsed;
    }
    auto start = dist::ParseStartAt(f.start_at, base, now);
    if (!start) return PlainError("--start-at " + start.error().context);
    d.start = *start;
  }
  if (!f.results.empty()) {
    auto id = RunIdOf(f, d, env);
    if (!id) return tl::unexpected(id.error());
    d.run_id = *id;
    auto fd = dist::PrepareResults(f.results, d.run_id, d.rank.rank);
    if (!fd) return PlainError("--results " + fd.error().ToString());
    d.results_fd = std::move(*fd);
    d.results_dir = f.results;
  } else if (!f.run_id.empty()) {
    return PlainError("--run-id names result files: give --results DIR too");
  }
  return d;
}

Result<std::string> FinishDist(const DistRun& d, const load::LoadOptions& opts, const load::LoadStats& s,
                               double start_unix, int64_t late_ns, bool interrupted) {
  if (d.results_dir.empty()) return std::string();
  dist::RankResult r;
  r.run_id = d.run_id;
  r.rank = d.rank.rank;
  r.size = d.rank.size;
  r.launcher = d.rank.launcher;
  r.host = sys::HostName();
  r.netns = opts.netns;
  r.connections = d.share.connections;
  r.first_connection = d.share.first_connection;
  r.total_connections = d.share.total_connections;
  for (const Endpoint& t : d.share.targets) r.targets.push_back(t.ToString());
  r.source_first = d.share.sources.first;
  r.source_count = d.share.sources.count;
  r.source_total = d.share.source_total;
  r.start_unix = start_unix;
  if (d.start) r.start_at = dist::FormatRfc3339(*d.start);
  r.start_late_ns = late_ns;
  r.clock_offset_ns = d.clock_offset_ns;
  r.ramp_seconds = s.ramp_seconds;
  r.seconds = s.t;
  r.interrupted = interrupted;
  r.totals = dist::TotalsOf(s, s.held());
  return dist::WriteRankFile(d.results_fd.get(), d.results_dir, r);
}

}  // namespace tcpmax::cli
