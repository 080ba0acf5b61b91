#include "sys/file_nr.h"

#include "sys/sysctl.h"

namespace tcpmax::sys {

Result<FileNr> ReadFileNr(const Reader& reader) {
  auto nums = ReadSysctlNumbers(reader, "fs.file-nr");
  if (!nums) return tl::unexpected(nums.error());
  if (nums->size() != 3) return PlainError("fs.file-nr: expected 3 numbers");
  return FileNr{(*nums)[0], (*nums)[1], (*nums)[2]};
}

}  // namespace tcpmax::sys
