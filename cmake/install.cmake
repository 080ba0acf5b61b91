# Install like a Linux tool: the binary, the man pages and the shell
# completion (generated at build time by `tcpmax __generate` from the
# commands' own flag definitions), the docs; `uninstall`; and the Debian
# package (CPack DEB, runtime dependencies from dpkg-shlibdeps) reusing this
# build. Included at the end of the top-level CMakeLists.txt, after every
# target is defined.
include(GNUInstallDirs)
# `make install`, `cmake --install` and cpack install what the install and deb
# targets built (tcpmax, tcpmax_docs), not everything in `all` (tests, benchmarks).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

set(TCPMAX_PACKAGE_VERSION "" CACHE STRING
    "package version a distribution build passes (tcpmax version reports it); empty for a build from the tree")
set(TCPMAX_DEB_RELEASE 1 CACHE STRING "Debian revision of the .deb built by `make deb`")
set(TCPMAX_MAINTAINER "tcpmax developers <tcpmax@tcpmax.dev>" CACHE STRING "Maintainer field of the .deb")
set(TCPMAX_GENERATED ${CMAKE_BINARY_DIR}/generated)
set(TCPMAX_DOCS_DIR ${TCPMAX_GENERATED}/docs)

# ---- tcpmax version: features found in what the libraries and the binary link ----
set(links "")
foreach(t tcpmax ${TCPMAX_MODULES})
  get_target_property(l ${t} LINK_LIBRARIES)
  if(l)
    list(APPEND links ${l})
  endif()
endforeach()
set(feature_uring "")
set(feature_tls "")
set(feature_mpi "")
if(links MATCHES "URING|uring")
  set(feature_uring "liburing ${URING_VERSION}")
endif()
if(links MATCHES "OpenSSL|ssl")
  set(feature_tls "OpenSSL ${OPENSSL_VERSION}")
endif()
if(links MATCHES "MPI|mpi")
  set(feature_mpi "MPI ${MPI_C_VERSION}")
endif()
set(build_info_args
    -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${TCPMAX_GENERATED}/cli/build_info.h
    -DVERSION=${PROJECT_VERSION} -DPACKAGE_VERSION=${TCPMAX_PACKAGE_VERSION} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DFEATURE_URING=${feature_uring} -DFEATURE_TLS=${feature_tls} -DFEATURE_MPI=${feature_mpi})
# Once now, so the header exists; then on every build (the commit moves).
execute_process(COMMAND ${CMAKE_COMMAND} ${build_info_args} -P ${CMAKE_SOURCE_DIR}/cmake/build_info.cmake)
add_custom_target(tcpmax_build_info
    COMMAND ${CMAKE_COMMAND} ${build_info_args} -P ${CMAKE_SOURCE_DIR}/cmake/build_info.cmake
    BYPRODUCTS ${TCPMAX_GENERATED}/cli/build_info.h
    VERBATIM)
add_dependencies(tcpmax tcpmax_build_info)
target_include_directories(tcpmax PRIVATE ${TCPMAX_GENERATED})

# ---- man pages and completion, from the binary just built ----
find_program(TCPMAX_GZIP gzip REQUIRED)
add_custom_command(
    OUTPUT ${TCPMAX_DOCS_DIR}/stamp
    COMMAND $<TARGET_FILE:tcpmax> __generate --out ${TCPMAX_DOCS_DIR} --theory ${CMAKE_SOURCE_DIR}/docs/theory.md
    COMMAND sh -c "${TCPMAX_GZIP} -9nf '${TCPMAX_DOCS_DIR}'/man/*.[17]"
    COMMAND ${CMAKE_COMMAND} -E touch ${TCPMAX_DOCS_DIR}/stamp
    DEPENDS tcpmax ${CMAKE_SOURCE_DIR}/docs/theory.md
    COMMENT "Man pages and shell completion from the commands' flag definitions"
    VERBATIM)
add_custom_target(tcpmax_docs ALL DEPENDS ${TCPMAX_DOCS_DIR}/stamp)

# ---- install rules (component tcpmax; the Debian changelog is component deb) ----
install(TARGETS tcpmax RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tcpmax)
install(DIRECTORY ${TCPMAX_DOCS_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tcpmax
        FILES_MATCHING PATTERN "*.1.gz")
install(DIRECTORY ${TCPMAX_DOCS_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man7 COMPONENT tcpmax
        FILES_MATCHING PATTERN "*.7.gz")
install(FILES ${TCPMAX_DOCS_DIR}/bash/tcpmax DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        COMPONENT tcpmax)
# zsh: Debian's fpath has /usr/share/zsh/vendor-completions for packages and
# /usr/local/share/zsh/site-functions for local installs. Decided at install
# time, since `cmake --install --prefix` and CPack choose the prefix then
# (CPack installs into <staging>/usr: a prefix ending in /usr is a package's).
install(CODE "
  if(\"\${CMAKE_INSTALL_PREFIX}\" MATCHES \"(^|/)usr$\")
    set(zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions\")
  else()
    set(zsh_dir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/zsh/site-functions\")
  endif()
  file(INSTALL DESTINATION \"\${zsh_dir}\" TYPE FILE FILES \"${TCPMAX_DOCS_DIR}/zsh/_tcpmax\")
" COMPONENT tcpmax)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/copyright ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tcpmax)

# The Debian changelog (Policy 12.7), its version the package's.
string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(TCPMAX_DEB_VERSION ${PROJECT_VERSION}-${TCPMAX_DEB_RELEASE})
configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/changelog.in ${TCPMAX_GENERATED}/changelog.Debian @ONLY)
execute_process(COMMAND ${TCPMAX_GZIP} -9nf ${TCPMAX_GENERATED}/changelog.Debian)
install(FILES ${TCPMAX_GENERATED}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb)

# The integration tests that install, complete or package need the pages.
foreach(t integ_install_test integ_completion_test integ_deb_test)
  if(TARGET ${t})
    add_dependencies(${t} tcpmax_docs)
  endif()
endforeach()

# ---- the Debian package: `make deb` (cpack -G DEB in this build) ----
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tcpmax)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_PACKAGE_CONTACT ${TCPMAX_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${TCPMAX_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "how many TCP connections can this Linux box hold, and what stops it first
tcpmax answers how many TCP connections this box, and a server on it, can
hold, and which limit stops them first: the 4-tuple, file descriptors
(RLIMIT_NOFILE, fs.nr_open, fs.file-max), ephemeral ports, kernel memory per
socket, epoll watches, conntrack and cloud NAT tables, cgroups.
.
It reads every limit and names the binding one with its remedy (limits),
counts connections by state with sock_diag (count), holds and opens
connections with epoll or io_uring (serve, load), climbs to the real ceiling
on loopback and verifies it with the kernel (probe), and runs a TCP engine in
user space with no file descriptor per connection (userland). Every system
change is journaled and undone on exit.")
set(CPACK_MONOLITHIC_INSTALL ON)  # one package with every component
include(CPack)
