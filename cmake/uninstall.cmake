# `make uninstall`: removes every file listed in MANIFEST (a copy of the
# install_manifest_tcpmax.txt that `make install` wrote), under $DESTDIR as
# the install was (the manifest holds the paths without it), then the
# directories of tcpmax's own left empty (share/doc/tcpmax), then MANIFEST.
#   DESTDIR=... cmake -DMANIFEST=build/make_install_manifest.txt -P cmake/uninstall.cmake
if(NOT EXISTS "${MANIFEST}")
  message(FATAL_ERROR "uninstall: no ${MANIFEST}: nothing was installed with make install from this build")
endif()
file(STRINGS "${MANIFEST}" files)
foreach(f ${files})
  set(f "$ENV{DESTDIR}${f}")
  if(EXISTS "${f}" OR IS_SYMLINK "${f}")
    message(STATUS "Removing ${f}")
    file(REMOVE "${f}")
  endif()
  get_filename_component(dir "${f}" DIRECTORY)
  get_filename_component(dir_name "${dir}" NAME)
  if(dir_name STREQUAL "tcpmax" AND IS_DIRECTORY "${dir}")
    file(GLOB left "${dir}/*")
    if(NOT left)
      file(REMOVE_RECURSE "${dir}")
    endif()
  endif()
endforeach()
file(REMOVE "${MANIFEST}")
