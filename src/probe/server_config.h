// Recognises a server from its command line and reads the settings that cap
// its connections, so a finding can name the exact line to change:
//   nginx    worker_processes, worker_connections, worker_rlimit_nofile from
//            the file after -c (default /etc/nginx/nginx.conf); include
//            directives are not followed (said in the note).
//   systemd  a process in a "*.service" control group: LimitNOFILE= of that unit.
// Thread-safety: pure functions (RecognizeServer reads files).
#pragma once

#include <string>
#include <string_view>

#include "probe/server_report.h"

namespace tcpmax::probe {

// `cmdline` of the main process (arguments joined by spaces), `comm`, and
// the path of its control group ("/system.slice/nginx.service" or "").
ServerKind RecognizeServer(std::string_view comm, std::string_view cmdline, std::string_view cgroup_path);
// The directives of an nginx configuration this module uses.
ServerKind ParseNginxConfig(std::string_view text);

}  // namespace tcpmax::probe
