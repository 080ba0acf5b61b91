#include "dist/launcher.h"

#include <charconv>
#include <cstdlib>

namespace tcpmax::dist {
namespace {

struct Source {
  const char* launcher;
  const char* rank_var;
  const char* size_var;  // nullptr: the size comes from --size or TCPMAX_SIZE
};

// In precedence order (an mpirun inside a Slurm allocation sets both Open
// MPI's and Slurm's variables; the MPI ones describe this process).
constexpr Source kSources[] = {
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
    {"pmi", "PMI_RANK", "PMI_SIZE"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS"},
    {"kubernetes", "JOB_COMPLETION_INDEX", nullptr},
};


std::string JobIdOf(const EnvLookup& env, std::string_view launcher) {
  auto get = [&](const char* name) { return env(name).value_or(""); };
  if (launcher == "slurm" && !get("SLURM_JOB_ID").empty()) {
    return "slurm-" + get("SLURM_JOB_ID") + "." + get("SLURM_STEP_ID");
  }
  if (launcher == "openmpi" && !get("OMPI_MCA_ess_base_jobid").empty()) {
    return "ompi-" + get("OMPI_MCA_ess_base_jobid");
  }
  if (launcher == "kubernetes" && !get("JOB_NAME").empty()) return "k8s-" + get("JOB_NAME");
  return "";
}

std::optional<int> IntVar(const EnvLookup& env, const char* name) {
  std::string text = env(name).value_or("");
  int v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

Result<int> ParseVar(const EnvLookup& env, const char* name) {
  if (auto v = IntVar(env, name)) return *v;
  return PlainError(std::string(name) + "='" + env(name).value_or("") + "': expected a non-negative integer");
}

// Slurm's tasks per node list, "2(x3),1": the count of node `node`.
std::optional<int> SlurmTasksOnNode(std::string_view list, int node) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    int count = 0, repeat = 1;
    size_t paren = item.find("(x");
    auto [end, ec] = std::from_chars(item.data(), item.data() + std::min(item.size(), paren), count);
    if (ec != std::errc()) return std::nullopt;
    if (paren != std::string_view::npos) {
      auto r = std::from_chars(item.data() + paren + 2, item.data() + item.size(), repeat);
      if (r.ec != std::errc()) return std::nullopt;
    }
    if (node < repeat) return count;
    node -= repeat;
  }
  return std::nullopt;
}

// The local rank and size, when the launcher gives both consistently.
void DetectLocal(const EnvLookup& env, RankInfo& info) {
  std::optional<int> rank, size;
  if (info.launcher == "openmpi") {
    rank = IntVar(env, "OMPI_COMM_WORLD_LOCAL_RANK");
    size = IntVar(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
  } else if (info.launcher == "pmi") {
    rank = IntVar(env, "MPI_LOCALRANKID");
    size = IntVar(env, "MPI_LOCALNRANKS");
  } else if (info.launcher == "slurm") {
    rank = IntVar(env, "SLURM_LOCALID");
    auto node = IntVar(env, "SLURM_NODEID");
    auto list = env("SLURM_STEP_TASKS_PER_NODE");
    if (!list) list = env("SLURM_TASKS_PER_NODE");
    if (node && list) size = SlurmTasksOnNode(*list, *node);
  }
  if (rank && size && *rank < *size && *size <= info.size) {
    info.local_rank = *rank;
    info.local_size = *size;
  }
}

Result<RankInfo> Check(RankInfo info, const std::string& rank_name, const std::string& size_name) {
  if (info.size < 1 || info.size > kMaxRanks) {
    return PlainError(size_name + " " + std::to_string(info.size) + ": expected 1-" + std::to_string(kMaxRanks));
  }
  if (info.rank < 0 || info.rank >= info.size) {
    return PlainError(rank_name + " " + std::to_string(info.rank) + " is not below " + size_name + " " +
                      std::to_string(info.size));
  }
  return info;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<RankInfo> DetectRank(const EnvLookup& env, std::optional<int> rank_flag, std::optional<int> size_flag) {
  if (rank_flag) {
    if (!size_flag) return PlainError("--rank needs --size (how many ranks the run has)");
    return Check(RankInfo{*rank_flag, *size_flag, "flags", ""}, "--rank", "--size");
  }
  for (const Source& s : kSources) {
    if (!env(s.rank_var)) continue;
    auto rank = ParseVar(env, s.rank_var);
    if (!rank) return tl::unexpected(rank.error());
    RankInfo info{*rank, 1, s.launcher, JobIdOf(env, s.launcher)};
    std::string size_name = s.size_var ? s.size_var : "TCPMAX_SIZE";
    if (size_flag && s.size_var != nullptr && env(s.size_var) && env(s.size_var) != std::to_string(*size_flag)) {
      return PlainError("--size " + std::to_string(*size_flag) + " disagrees with " + s.size_var + "=" +
                        env(s.size_var).value_or(""));
    }
    if (s.size_var == nullptr && size_flag) {
      info.size = *size_flag;
      size_name = "--size";
    } else if (env(size_name)) {
      auto size = ParseVar(env, size_name.c_str());
      if (!size) return tl::unexpected(size.error());
      info.size = *size;
    } else {
      return PlainError(std::string(s.rank_var) + " is set but " + size_name +
                        (s.size_var ? " is not" : " is not (give --size or TCPMAX_SIZE)"));
    }
    auto checked = Check(info, s.rank_var, size_name);
    if (checked) DetectLocal(env, *checked);
    return checked;
  }
  if (size_flag) return PlainError("--size needs --rank (or a launcher that sets the rank)");
  return RankInfo{};
}

}  // namespace tcpmax::dist
