// The record of a store's layout: a small JSON object at the store's root
// (kStoreRecordName, docs/STORAGE.md "Layouts"), written once, when the store
// is first written, with a create-only write, so every later command (and a
// concurrent first writer) uses the same layout and two layouts never mix.
//   {"format_version":2,"layout":"hive"}
// Version 2 is written for hive stores only (their exchange partition is
// exchange_id; a hive store recorded as version 1 keeps `exchange`), so a
// by_date store's record, version 1, still reads in a binary that knows
// version 1 only.
#pragma once

#include <memory>
#include <optional>

#include "core/status.h"
#include "storage/layout.h"
#include "storage/object_store.h"

namespace mt::storage {

inline constexpr int kStoreRecordFormatVersion = 2;

// The record's bytes for `layout`.
std::string StoreRecordJson(const Layout& layout);
inline std::string StoreRecordJson(LayoutKind kind) { return StoreRecordJson(Layout(kind)); }
// The layout a record's bytes give (a hive record of version 1: a
// Layout::kHiveExchangeV1 layout); kUsage naming `where` for anything else
// (not JSON, an unknown layout, a format version newer than this binary's).
Result<Layout> ParseStoreRecord(std::string_view bytes, const std::string& where);

// Decides `store`'s layout and sets it (ObjectStore::set_layout):
//   - the record's layout when there is one;
//   - by_date for a store with by_date objects but no record (stores written
//     before layouts existed);
//   - else `requested`, else by_date.
// `requested` is --layout / OUTPUT_LAYOUT; one that disagrees with the store
// is kUsage, before anything is written. Reads only.
Status ResolveStoreLayout(ObjectStore* store, std::optional<LayoutKind> requested);

// Writes the record of store->layout() unless the store has one, with a
// create-only write. A record of another layout (a concurrent first writer
// won the create) is kUsage: of two first writers racing, exactly one layout
// is recorded.
Status RecordStoreLayout(ObjectStore* store);

// `inner` (its layout decided: ResolveStoreLayout) behind a store that calls
// RecordStoreLayout just before the first Create or CreateIfGeneration of any
// object other than the record itself, once, whichever thread gets there
// first (the others wait for it). So the record exists before any data
// object of the run, whatever the command, and a run that writes nothing
// leaves no record. When recording fails (a run of the other layout won the
// record, or an I/O error), that Create and every later one fail with its
// status and WriteRefusal() returns it: nothing of this run's layout is
// written into a store recorded with the other. Everything else is passed
// through to `inner`.
std::unique_ptr<ObjectStore> RecordLayoutOnFirstWrite(std::unique_ptr<ObjectStore> inner);

}  // namespace mt::storage
