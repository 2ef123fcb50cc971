#include "pipeline/instruments_merge.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "pipeline/plan.h"
#include "tardis/metadata.h"

namespace mt::pipeline {

namespace {

using ojson = nlohmann::ordered_json;

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string KvOf(const std::vector<std::pair<std::string, std::string>>& kv, const std::string& key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return "";
}

// Whether a metadata URL is about `exchange` (…/exchanges/{ex} or
// …/instruments/{ex}, maybe with a query).
bool UrlIsFor(const std::string& url, const std::string& exchange) {
  for (const char* kind : {"/exchanges/", "/instruments/"}) {
    const std::string needle = kind + exchange;
    for (size_t p = url.find(needle); p != std::string::npos; p = url.find(needle, p + 1)) {
      const size_t e = p + needle.size();
      if (e == url.size() || url[e] == '?' || url[e] == '/') return true;
    }
  }
  return false;
}

ojson SourceJson(const ExchangeSource& s) {
  ojson o = {{"exchange", s.exchange},         {"source", s.source},
             {"source_bytes", s.source_bytes}, {"created_at", s.created_at},
             {"quote_filter", s.quote_filter}, {"exported_until", nullptr},
             {"final", s.final}};
  if (s.exported_until_us) o["exported_until"] = FormatIsoMicros(*s.exported_until_us);
  if (s.needs_key) o["needs_key"] = true;
  if (!s.incidents.empty()) {
    ojson list = ojson::array();
    for (const auto& i : s.incidents) {
      list.push_back(ojson{{"from", FormatIsoMicros(i.from_us)},
                           {"to", FormatIsoMicros(i.to_us)},
                           {"status", i.status},
                           {"details", i.details}});
    }
    o["incidents"] = std::move(list);
  }
  return o;
}

}  // namespace

bool ExportedThrough(const std::optional<int64_t>& exported_until_us, const Date& last_day) {
  if (!exported_until_us) return true;
  return MicrosFromDate(AddDays(last_day, 1)) <= *exported_until_us;
}

InstrumentsFileState StateOf(const std::vector<std::pair<std::string, std::string>>& kv) {
  InstrumentsFileState st;
  st.exists = true;
  for (const auto& e : SplitList(KvOf(kv, "exchanges"))) st.exchanges.insert(e);
  for (const auto& e : SplitList(KvOf(kv, "provisional_exchanges"))) st.provisional.insert(e);
  // Metadata of a stored file: bounded like any JSON read from outside (an
  // unbounded nesting would exhaust the stack); out of bounds reads as absent.
  const std::string sources_text = KvOf(kv, "exchange_sources");
  const auto sources = CheckJsonBounds(sources_text, "exchange_sources").ok()
                           ? nlohmann::json::parse(sources_text, nullptr, false)
                           : nlohmann::json();
  if (sources.is_array()) {
    for (const auto& o : sources) {
      if (!o.is_object() || !o.contains("exchange") || !o["exchange"].is_string()) continue;
      ExchangeSource s;
      s.exchange = o["exchange"].get<std::string>();
      s.source = o.value("source", "");
      s.source_bytes = o.value("source_bytes", uint64_t{0});
      s.created_at = o.value("created_at", "");
      s.quote_filter = o.value("quote_filter", "");
      if (o.contains("exported_until") && o["exported_until"].is_string()) {
        s.exported_until_us = tardis::ParseIsoMicros(o["exported_until"].get<std::string>());
      }
      s.final = o.value("final", true);
      s.needs_key = o.contains("needs_key") && o["needs_key"].is_boolean() && o["needs_key"].get<bool>();
      if (o.contains("incidents") && o["incidents"].is_array()) {
        for (const auto& i : o["incidents"]) {
          if (!i.is_object() || !i.contains("from") || !i.contains("to") || !i["from"].is_string() ||
              !i["to"].is_string()) {
            continue;
          }
          const auto from = tardis::ParseIsoMicros(i["from"].get<std::string>());
          const auto to = tardis::ParseIsoMicros(i["to"].get<std::string>());
          if (!from || !to) continue;
          tardis::IncidentReport rep;
          rep.from_us = *from;
          rep.to_us = *to;
          rep.status = i.value("status", "");
          rep.details = i.value("details", "");
          s.incidents.push_back(std::move(rep));
        }
      }
      st.exchanges.insert(s.exchange);
      if (!s.final) st.provisional.insert(s.exchange);
      if (s.needs_key) st.needs_key.insert(s.exchange);
      st.sources.push_back(std::move(s));
    }
    return st;
  }
  // Written before exchange_sources: attribute the URLs by exchange.
  st.legacy = true;
  const std::vector<std::string> urls = [&] {
    std::vector<std::string> out;
    std::string cur;
    for (char c : KvOf(kv, "source") + " ") {
      if (c == ' ') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    return out;
  }();
  const uint64_t bytes = std::strtoull(KvOf(kv, "source_bytes").c_str(), nullptr, 10);
  for (const auto& e : st.exchanges) {
    ExchangeSource s;
    s.exchange = e;
    std::vector<std::string> mine;
    for (const auto& u : urls) {
      if (UrlIsFor(u, e)) mine.push_back(u);
    }
    s.source = Join(mine, " ");
    s.source_bytes = st.exchanges.size() == 1 ? bytes : 0;  // not known per exchange
    s.created_at = KvOf(kv, "created_at");
    s.quote_filter = KvOf(kv, "quote_filter");
    st.sources.push_back(std::move(s));
  }
  return st;
}

std::vector<std::string> ExchangesToWrite(const InstrumentsFileState& state, const std::vector<std::string>& requested,
                                          bool force, bool with_key) {
  std::vector<std::string> out;
  for (const auto& e : requested) {
    if (force || !state.exchanges.count(e) || state.provisional.count(e) || (with_key && state.needs_key.count(e))) {
      out.push_back(e);
    }
  }
  return out;
}

namespace {

// The parts of the merged file's metadata gathered before its kv is made.
struct MergedMeta {
  std::map<std::string, ExchangeSource> sources;  // by exchange: sorted output
  std::set<std::string> exchanges;
  ojson grouped = ojson::array();
};

// What a stored file's metadata keeps: its exchanges, sources and grouped
// symbols other than those this run replaces.
void KeepStoredMeta(const MergeInput& in, const std::vector<std::pair<std::string, std::string>>& kv,
                    MergedMeta* meta) {
  const InstrumentsFileState st = StateOf(kv);
  for (const auto& e : st.exchanges) {
    if (!in.replaced.count(e)) meta->exchanges.insert(e);
  }
  for (const auto& s : st.sources) {
    if (!in.replaced.count(s.exchange)) meta->sources[s.exchange] = s;
  }
  const std::string old_text = KvOf(kv, "grouped_symbols");
  const auto old = CheckJsonBounds(old_text, "grouped_symbols").ok() ? ojson::parse(old_text, nullptr, false) : ojson();
  if (old.is_array()) {
    for (const auto& g : old) {
      if (g.is_object() && g.contains("exchange") && g["exchange"].is_string() &&
          !in.replaced.count(g["exchange"].get<std::string>())) {
        meta->grouped.push_back(g);
      }
    }
  }
}

// The merged file's key-value metadata, exchanges and provisional ones, for
// a file of `rows` rows.
void FinishMerged(const MergeInput& in, MergedMeta meta, size_t rows, MergedInstruments* m) {
  for (const auto& s : in.sources) meta.sources[s.exchange] = s;
  ojson& grouped = meta.grouped;
  const auto added_grouped = ojson::parse(in.grouped_json, nullptr, false);
  if (added_grouped.is_array()) {
    for (const auto& g : added_grouped) grouped.push_back(g);
  }
  std::stable_sort(grouped.begin(), grouped.end(), [](const ojson& a, const ojson& b) {
    return std::make_pair(a.value("exchange", ""), a.value("symbol", "")) <
           std::make_pair(b.value("exchange", ""), b.value("symbol", ""));
  });

  m->exchanges.assign(meta.exchanges.begin(), meta.exchanges.end());
  std::vector<std::string> urls;
  uint64_t bytes = 0;
  std::set<std::string> quote_filters;
  ojson source_list = ojson::array();
  for (const auto& e : m->exchanges) {
    auto it = meta.sources.find(e);
    if (it == meta.sources.end()) continue;  // rows of an exchange no metadata names: keep them, say nothing
    const ExchangeSource& s = it->second;
    if (!s.source.empty()) urls.push_back(s.source);
    bytes += s.source_bytes;
    quote_filters.insert(s.quote_filter);
    if (!s.final) m->provisional.push_back(e);
    source_list.push_back(SourceJson(s));
  }
  std::string quote_filter;
  if (quote_filters.size() == 1) {
    quote_filter = *quote_filters.begin();
  } else if (quote_filters.size() > 1) {
    quote_filter = "per exchange: see exchange_sources";
  }
  m->kv = {
      {"source", Join(urls, " ")},
      {"source_bytes", std::to_string(bytes)},
      {"row_count", std::to_string(rows)},
      {"first_timestamp", FormatIsoMicros(MicrosFromDate(in.first))},
      {"last_timestamp", FormatIsoMicros(MicrosFromDate(AddDays(in.last, 1)) - 1)},
      {"tool_version", in.tool_version},
      {"created_at", in.created_at},
      {"exchanges", Join(m->exchanges, ",")},
      {"quote_filter", quote_filter},
      {"grouped_symbols", grouped.dump()},
      {"provisional_exchanges", Join(m->provisional, ",")},
      {"exchange_sources", source_list.dump()},
  };
}

}  // namespace

MergedInstruments MergeInstruments(const MergeInput& in, const AddedRows& added) {
  MergedInstruments m;
  m.rows = EmptyInstrumentRowGroup();
  MergedMeta meta;
  meta.exchanges.insert(in.replaced.begin(), in.replaced.end());
  std::vector<const InstrumentDefinition*> kept;  // stored rows of the other exchanges
  if (in.existing) {
    KeepStoredMeta(in, in.existing->kv, &meta);
    for (const auto& d : in.existing->definitions) {
      if (in.replaced.count(d.tardis_exchange)) continue;
      meta.exchanges.insert(d.tardis_exchange);
      kept.push_back(&d);
    }
  }
  // One linear merge of two key-ordered sequences, each row appended to the
  // columns once: no copies of the definitions (a year of a big options
  // venue is millions of rows).
  auto key_less = [](const InstrumentDefinition* a, const InstrumentDefinition* b) {
    return a->instrument_key < b->instrument_key;
  };
  if (!std::is_sorted(kept.begin(), kept.end(), key_less)) std::stable_sort(kept.begin(), kept.end(), key_less);
  size_t k = 0;
  added([&](const InstrumentDefinition& d) {
    if (!in.replaced.count(d.tardis_exchange)) return;
    while (k < kept.size() && kept[k]->instrument_key < d.instrument_key) AppendInstrumentRow(*kept[k++], &m.rows);
    AppendInstrumentRow(d, &m.rows);
  });
  while (k < kept.size()) AppendInstrumentRow(*kept[k++], &m.rows);
  FinishMerged(in, std::move(meta), m.rows.num_rows, &m);
  return m;
}

SpilledMerge MergeInstrumentsSpilled(const MergeInput& in, const AddedRows& added) {
  SpilledMerge m;
  m.rows = std::make_unique<SpilledInstrumentRows>();
  MergedMeta meta;
  meta.exchanges.insert(in.replaced.begin(), in.replaced.end());
  added([&](const InstrumentDefinition& d) {
    if (in.replaced.count(d.tardis_exchange)) m.rows->Append(d);
  });
  FinishMerged(in, std::move(meta), m.rows->num_rows(), &m.merged);
  return m;
}

Result<StoredMerge> StoredMerge::Plan(const MergeInput& in, const StoredInstruments* stored, const AddedRows& added) {
  StoredMerge p;
  p.stored_ = stored;
  p.added_ = std::make_unique<SpilledInstrumentRows>();
  MergedMeta meta;
  meta.exchanges.insert(in.replaced.begin(), in.replaced.end());
  KeepStoredMeta(in, stored->kv(), &meta);
  // The stored rows kept (those of the exchanges not replaced), in file order.
  {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues ex, stored->Read(kTardisExchangeColumn));
    const std::string* last_kept = nullptr;  // rows of one exchange come together: one lookup each run
    for (size_t r = 0; r < ex.num_rows; r++) {
      const std::string& e = ex.strings[r];
      if (!(last_kept && *last_kept == e)) {
        if (in.replaced.count(e)) continue;
        meta.exchanges.insert(e);
        last_kept = &e;
      }
      p.kept_.push_back(static_cast<uint32_t>(r));
    }
  }
  if (p.kept_.empty()) {
    // Nothing stored stays: this run's rows are the file, each column
    // handed over as it is.
    added([&](const InstrumentDefinition& d) {
      if (in.replaced.count(d.tardis_exchange)) p.added_->Append(d);
    });
    p.num_rows_ = p.added_->num_rows();
  } else {
    // Where each merged row comes from, decided on the keys alone, as
    // MergeInstruments interleaves the two key-ordered sequences (the kept
    // rows stably sorted by key when they are not in order).
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues key_col, stored->Read(kInstrumentKeyColumn));
    std::vector<std::string> keys(p.kept_.size());
    for (size_t i = 0; i < p.kept_.size(); i++) keys[i] = std::move(key_col.strings[p.kept_[i]]);
    key_col = parquet::ColumnValues();
    if (!std::is_sorted(keys.begin(), keys.end())) {
      std::vector<uint32_t> order(p.kept_.size());
      for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<uint32_t>(i);
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });
      std::vector<uint32_t> rows(p.kept_.size());
      std::vector<std::string> sorted(p.kept_.size());
      for (size_t i = 0; i < order.size(); i++) {
        rows[i] = p.kept_[order[i]];
        sorted[i] = std::move(keys[order[i]]);
      }
      p.kept_ = std::move(rows);
      keys = std::move(sorted);
    }
    p.from_added_.reserve(p.kept_.size());
    size_t k = 0;
    added([&](const InstrumentDefinition& d) {
      if (!in.replaced.count(d.tardis_exchange)) return;
      for (; k < keys.size() && keys[k] < d.instrument_key; k++) p.from_added_.push_back(0);
      p.from_added_.push_back(1);
      p.added_->Append(d);
    });
    for (; k < keys.size(); k++) p.from_added_.push_back(0);
    p.num_rows_ = p.from_added_.size();
  }
  p.empty_ = EmptyInstrumentRowGroup();
  FinishMerged(in, std::move(meta), p.num_rows_, &p.merged_);
  return p;
}

Status StoredMerge::FillColumn(size_t col, columnar::ColumnData* out) {
  if (kept_.empty()) {
    *out = std::move(empty_.columns[col]);
    return added_->Column(col, out);
  }
  // The stored column decoded, interleaved with this run's; both freed here.
  parquet::ColumnValues values;
  if (stored_->Has(col)) {
    auto v = stored_->Read(col);
    if (!v.ok()) {
      read_error_ = v.status();
      return v.status();
    }
    values = std::move(v).value();
  }
  const parquet::ColumnValues* v = stored_->Has(col) ? &values : nullptr;
  // An empty column of the merged row group's kind and starting mode.
  *out = std::move(empty_.columns[col]);
  // This run's column, made from its rows (freed when merged).
  columnar::ColumnData src = EmptyInstrumentRowGroup().columns[col];
  MT_RETURN_IF_ERROR(added_->Column(col, &src));
  size_t next_kept = 0, next_added = 0, added_value = 0;
  for (const uint8_t a : from_added_) {
    if (a) {
      AppendAddedValue(src, next_added++, &added_value, out);
    } else {
      AppendStoredValue(v, kept_[next_kept++], out);
    }
  }
  return Status::OK();
}

}  // namespace mt::pipeline
