// fs.file-nr: open files of the whole box, against fs.file-max.
// "487 0 2466170" = allocated file handles, allocated but unused (always 0
// since 2.6), the maximum (fs.file-max).
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct FileNr {
  uint64_t allocated = 0;
  uint64_t unused = 0;
  uint64_t max = 0;
  uint64_t in_use() const { return allocated >= unused ? allocated - unused : 0; }
};

Result<FileNr> ReadFileNr(const Reader& reader);

}  // namespace tcpmax::sys
