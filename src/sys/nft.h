// nftables through the `nft` program (package nftables): the one door tcpmax
// uses to install, look up and delete a table of its own.
//
// A table is named by family and name ("inet", "tcpmax_1234"); its handle
// (the number `nft -a` prints) tells one table from a later one of the same
// name, which is what the journal's undo rule compares. Scripts are applied
// with `nft -f`, as one transaction: all rules or none.
// Commands run in the calling thread's network namespace (see netns.h).
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace tcpmax::sys {

// Fails (ENOENT, naming the package) when no `nft` executable is on PATH.
Result<void> NftAvailable();
// Applies `script` (nft syntax) atomically with `nft -f`.
Result<void> NftApply(std::string_view script);
// The handle of table FAMILY NAME, nullopt when there is no such table.
Result<std::optional<uint64_t>> NftTableHandle(std::string_view family, std::string_view name);
// Deletes table FAMILY NAME and everything in it.
Result<void> NftDeleteTable(std::string_view family, std::string_view name);

// The handle in the first line of `nft -a list table` output
// ("table inet x { # handle 7"); nullopt when absent. Pure.
std::optional<uint64_t> ParseNftTableHandle(std::string_view listing);

}  // namespace tcpmax::sys
