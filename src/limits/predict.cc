#include "limits/predict.h"

namespace tcpmax::limits {

Prediction Predict(const sys::Reader& reader, const Scenario& scenario) {
  return Predict(ReadSnapshot(reader), scenario);
}

Prediction Predict(const Snapshot& snapshot, const Scenario& scenario) {
  Prediction p;
  p.ceiling = ComputeCeiling(snapshot, scenario);
  const Direction& in = p.ceiling.inbound;
  p.inbound_ceiling = in.total.ceiling;
  p.inbound_binding = in.total.binding;
  if (const Finding* f = in.Find(in.total.binding)) p.inbound_binding_name = f->limit;
  p.per_process_ceiling = in.per_process.ceiling;
  const Verdict& box = in.per_user.ceiling && (!in.box.ceiling || *in.per_user.ceiling < *in.box.ceiling)
                           ? in.per_user : in.box;
  p.box_ceiling = box.ceiling;
  if (const Finding* f = in.Find(box.binding)) p.box_binding_name = f->limit;
  p.kernel_bytes_per_end = p.ceiling.memory.per_end;
  p.bytes_per_connection = p.ceiling.bytes_per_connection;
  return p;
}

}  // namespace tcpmax::limits
