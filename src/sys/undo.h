// How each kind of journalled change is undone, by this run or a later one.
//
// The rule for every kind: put back only what still holds what we made.
//   sysctl: current == what we wrote -> write the old value; current == the
//           old value -> nothing to do; anything else -> left alone.
//   netns:  /run/netns/NAME is the namespace we made (same identity) ->
//           remove the name; absent -> nothing to do; another one -> left alone.
//   route:  present in its namespace -> `ip route del`; absent -> nothing.
//   tun:    devices are not persistent and die with their fd: absent ->
//           nothing to do; present -> left alone (someone else's now).
//   nft_table: absent -> nothing to do; present with the handle we recorded
//           -> `nft delete table`; another handle -> left alone.
// A change that lives in a named namespace which is gone is gone with it.
// Thread-safety: reentrant; enters namespaces on the calling thread only.
#pragma once

#include <optional>
#include <string>

#include "sys/journal.h"

namespace tcpmax::sys {

// `applied` is what the system held right after the change (nullopt when the
// run ended between writing the record and making the change).
UndoResult UndoChange(const Change& change, const std::optional<std::string>& applied);

}  // namespace tcpmax::sys
