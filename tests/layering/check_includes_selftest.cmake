# check_includes_selftest.cmake: proves check_includes.cmake catches what it
# must, using the project's real layering (LAYERS) on small trees written in
# WORK: a clean tree passes; each planted violation fails and is named.
#
#   cmake -DCHECKER=<check_includes.cmake> -DLAYERS=<tcpmax_layers.cmake> -DWORK=<scratch dir> -P ...
cmake_minimum_required(VERSION 3.22)

if(NOT CHECKER OR NOT LAYERS OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DCHECKER=... -DLAYERS=... -DWORK=... -P check_includes_selftest.cmake")
endif()

# A tree that keeps the layering: nested folders, a relative include beside the
# file, a system header whose first segment is a module name (<sys/...>), test
# files that include their module's dependencies, and a cli that uses report.
function(write_clean_tree root)
  file(REMOVE_RECURSE ${root})
  file(WRITE ${root}/src/core/error.h "#pragma once\n")
  file(WRITE ${root}/src/sys/sysctl.h "#pragma once\n#include \"core/error.h\"\n#include <sys/socket.h>\n")
  file(WRITE ${root}/src/limits/ceiling.h "#pragma once\n#include \"sys/sysctl.h\"\n")
  file(WRITE ${root}/src/userland/wire/segment.h "#pragma once\n#include \"core/error.h\"\n")
  file(WRITE ${root}/src/userland/link/tun.cc "#include \"userland/wire/segment.h\"\n#include \"tun_local.h\"\n")
  file(WRITE ${root}/src/userland/link/tun_local.h "#pragma once\n")
  file(WRITE ${root}/src/report/limits.h "#pragma once\n#  include \"limits/ceiling.h\"\n")
  file(WRITE ${root}/src/cli/limits_cmd.cc "#include \"report/limits.h\"\n#include <CLI/CLI.hpp>\n")
  file(WRITE ${root}/tests/limits/ceiling_test.cc "#include \"limits/ceiling.h\"\n#include \"sys/sysctl.h\"\n")
  file(WRITE ${root}/tests/userland/seg_test.cc "#include \"test_sink.h\"\n")
  file(WRITE ${root}/tests/userland/test_sink.h "#pragma once\n")
endfunction()

# Runs the checker on `root`; sets `code` and `out` (stdout + stderr).
function(run_checker root code out)
  execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${root} -DLAYERS=${LAYERS} -P ${CHECKER}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
  set(${code} ${rc} PARENT_SCOPE)
  set(${out} "${o}${e}" PARENT_SCOPE)
endfunction()

set(failures "")

write_clean_tree(${WORK}/clean)
run_checker(${WORK}/clean rc out)
if(NOT rc EQUAL 0)
  list(APPEND failures "clean tree rejected:\n${out}")
endif()

# Each case: a file planted in an otherwise clean tree, its content, and a
# regex the checker's output must match.
set(case_names "")
macro(plant name file content expect)
  list(APPEND case_names ${name})
  set(file_${name} "${file}")
  set(content_${name} "${content}")
  set(expect_${name} "${expect}")
endmacro()
plant(downward src/core/bad.cc "#include \"sys/sysctl.h\"\n"
      "src/core/bad.cc: core may not include \"sys/sysctl.h\" [(]module sys[)]")
plant(sibling src/serve/bad.cc "#  include   \"load/runner.h\"\n"
      "src/serve/bad.cc: serve may not include \"load/runner.h\" [(]module load[)]")
plant(upward src/limits/render.h "#pragma once\n#include \"report/limits.h\"\n"
      "src/limits/render.h: limits may not include \"report/limits.h\" [(]module report[)]")
plant(nested src/userland/link/bad.cc "#include \"probe/runner.h\"\n"
      "src/userland/link/bad.cc: userland may not include \"probe/runner.h\"")
plant(relative src/diag/bad.h "#include \"../limits/ceiling.h\"\n"
      "src/diag/bad.h: diag may not include \"../limits/ceiling.h\" [(]module limits[)]")
plant(angle src/sys/bad.cc "#include <report/limits.h>\n"
      "src/sys/bad.cc: sys may not include <report/limits.h> [(]module report[)]")
plant(in_tests tests/limits/bad_test.cc "#include \"report/limits.h\"\n"
      "tests/limits/bad_test.cc: limits may not include \"report/limits.h\"")
plant(no_module src/load/bad.cc "#include \"kernel/engine.h\"\n"
      "src/load/bad.cc: \"kernel/engine.h\" names no module")
plant(unknown_folder src/kernel/engine.cc "#include \"core/error.h\"\n"
      "src/kernel/: not a module of the layering")

foreach(name ${case_names})
  set(root ${WORK}/${name})
  write_clean_tree(${root})
  file(WRITE ${root}/${file_${name}} "${content_${name}}")
  run_checker(${root} rc out)
  if(rc EQUAL 0)
    list(APPEND failures "${name}: planted ${file_${name}} passed the checker:\n${out}")
  elseif(NOT out MATCHES "${expect_${name}}")
    list(APPEND failures "${name}: checker failed without naming the violation (want /${expect_${name}}/):\n${out}")
  elseif(NOT out MATCHES "layering: 1 violation")
    list(APPEND failures "${name}: checker flagged more than the planted violation:\n${out}")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
if(failures)
  foreach(f ${failures})
    message("${f}")
  endforeach()
  message(FATAL_ERROR "check_includes self-test: failed")
endif()
list(LENGTH case_names n)
message(STATUS "check_includes self-test: clean tree passes, ${n} planted violations caught")
