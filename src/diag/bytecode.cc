#include "diag/bytecode.h"

#include <linux/inet_diag.h>

#include <cstring>

#include "diag/filter.h"

namespace tcpmax::diag {
namespace {

// Emits ops in sequence; `no` targets are labels resolved by Finish().
class Assembler {
 public:
  static constexpr int kAccept = 0;  // the end of the program
  static constexpr int kReject = 1;  // end + 4

  int NewLabel() {
    labels_.push_back(kUnbound);
    return static_cast<int>(labels_.size() - 1);
  }
  void Bind(int label) { labels_[label] = code_.size(); }

  // One op: {code, yes = its own size, no -> label} followed by `payload`.
  void Emit(uint8_t code, int no_label, const void* payload, size_t payload_len) {
    size_t at = code_.size();
    inet_diag_bc_op op{code, static_cast<unsigned char>(sizeof op + payload_len), 0};
    code_.resize(at + sizeof op + payload_len);
    std::memcpy(&code_[at], &op, sizeof op);
    if (payload_len > 0) std::memcpy(&code_[at + sizeof op], payload, payload_len);
    fixups_.push_back({at, no_label});
  }

  void PortCompare(uint8_t code, uint16_t port, int no_label) {
    inet_diag_bc_op arg{0, 0, port};
    Emit(code, no_label, &arg, sizeof arg);
  }

  void HostCond(uint8_t code, const Cidr& c, int no_label) {
    uint8_t payload[sizeof(inet_diag_hostcond) + 16] = {};
    inet_diag_hostcond cond{};
    cond.family = static_cast<uint8_t>(c.base.family);
    cond.prefix_len = static_cast<uint8_t>(c.prefix);
    cond.port = -1;
    std::memcpy(payload, &cond, sizeof cond);
    size_t alen = c.base.family == AF_INET ? 4 : 16;
    std::memcpy(payload + sizeof cond, c.base.bytes.data(), alen);
    Emit(code, no_label, payload, sizeof cond + alen);
  }

  // Resolves jumps; empty when an offset does not fit.
  std::vector<uint8_t> Finish() {
    labels_[kAccept] = code_.size();
    labels_[kReject] = code_.size() + 4;
    for (const Fixup& f : fixups_) {
      size_t target = labels_[f.label];
      size_t no = target - f.at;
      if (target == kUnbound || target <= f.at || no > 0xffff) return {};
      auto* op = reinterpret_cast<inet_diag_bc_op*>(&code_[f.at]);
      op->no = static_cast<unsigned short>(no);
    }
    return std::move(code_);
  }

 private:
  static constexpr size_t kUnbound = ~size_t{0};
  struct Fixup {
    size_t at;
    int label;
  };
  std::vector<uint8_t> code_;
  std::vector<size_t> labels_{kUnbound, kUnbound};
  std::vector<Fixup> fixups_;
};

// Emits one OR group; `emit_term(i, no_label)` emits term i's conditions.
template <typename EmitTerm>
void Group(Assembler& a, size_t terms, EmitTerm emit_term) {
  if (terms == 0) return;
  int group_end = a.NewLabel();
  for (size_t i = 0; i < terms; ++i) {
    bool last = i + 1 == terms;
    int next = last ? Assembler::kReject : a.NewLabel();
    emit_term(i, next);
    if (!last) {
      a.Emit(INET_DIAG_BC_JMP, group_end, nullptr, 0);
      a.Bind(next);
    }
  }
  a.Bind(group_end);
}

void PortGroup(Assembler& a, const std::vector<PortRange>& ranges, uint8_t ge, uint8_t le) {
  Group(a, ranges.size(), [&](size_t i, int no) {
    a.PortCompare(ge, ranges[i].lo, no);
    a.PortCompare(le, ranges[i].hi, no);
  });
}

void CidrGroup(Assembler& a, const std::vector<Cidr>& cidrs, uint8_t code) {
  Group(a, cidrs.size(), [&](size_t i, int no) { a.HostCond(code, cidrs[i], no); });
}

}  // namespace

std::vector<uint8_t> CompileBytecode(const Query& q) {
  Assembler a;
  PortGroup(a, NormalizePorts(q.lports), INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE);
  PortGroup(a, NormalizePorts(q.rports), INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE);
  CidrGroup(a, q.src, INET_DIAG_BC_S_COND);
  CidrGroup(a, q.dst, INET_DIAG_BC_D_COND);
  std::vector<uint8_t> code = a.Finish();
  if (code.size() > kMaxBytecode) return {};
  return code;
}

std::vector<uint8_t> RejectAllBytecode() {
  // JMP always takes `no`; 8 from a 4-byte program is end + 4: reject.
  inet_diag_bc_op op{INET_DIAG_BC_JMP, 4, 8};
  std::vector<uint8_t> code(sizeof op);
  std::memcpy(code.data(), &op, sizeof op);
  return code;
}

}  // namespace tcpmax::diag
