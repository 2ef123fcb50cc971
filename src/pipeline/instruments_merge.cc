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
                                          bool force) {
  std::vector<std::string> out;
  for (const auto& e : requested) {
    if (force || !state.exchanges.count(e) || state.provisional.count(e)) out.push_back(e);
  }
  return out;
}

MergedInstruments MergeInstruments(const MergeInput& in, const AddedRows& added) {
  MergedInstruments m;
  m.rows = EmptyInstrumentRowGroup();
  std::map<std::string, ExchangeSource> sources;  // by exchange: sorted output
  std::set<std::string> exchanges(in.replaced.begin(), in.replaced.end());
  ojson grouped = ojson::array();
  std::vector<const InstrumentDefinition*> kept;  // stored rows of the other exchanges
  if (in.existing) {
    const InstrumentsFileState st = StateOf(in.existing->kv);
    for (const auto& e : st.exchanges) {
      if (!in.replaced.count(e)) exchanges.insert(e);
    }
    for (const auto& s : st.sources) {
      if (!in.replaced.count(s.exchange)) sources[s.exchange] = s;
    }
    for (const auto& d : in.existing->definitions) {
      if (in.replaced.count(d.tardis_exchange)) continue;
      exchanges.insert(d.tardis_exchange);
      kept.push_back(&d);
    }
    const std::string old_text = in.existing->Kv("grouped_symbols");
    const auto old = CheckJsonBounds(old_text, "grouped_symbols").ok() ? ojson::parse(old_text, nullptr, false) : ojson();
    if (old.is_array()) {
      for (const auto& g : old) {
        if (g.is_object() && g.contains("exchange") && g["exchange"].is_string() &&
            !in.replaced.count(g["exchange"].get<std::string>())) {
          grouped.push_back(g);
        }
      }
    }
  }
  for (const auto& s : in.sources) sources[s.exchange] = s;
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
  const auto added_grouped = ojson::parse(in.grouped_json, nullptr, false);
  if (added_grouped.is_array()) {
    for (const auto& g : added_grouped) grouped.push_back(g);
  }
  std::stable_sort(grouped.begin(), grouped.end(), [](const ojson& a, const ojson& b) {
    return std::make_pair(a.value("exchange", ""), a.value("symbol", "")) <
           std::make_pair(b.value("exchange", ""), b.value("symbol", ""));
  });

  m.exchanges.assign(exchanges.begin(), exchanges.end());
  std::vector<std::string> urls;
  uint64_t bytes = 0;
  std::set<std::string> quote_filters;
  ojson source_list = ojson::array();
  for (const auto& e : m.exchanges) {
    auto it = sources.find(e);
    if (it == sources.end()) continue;  // rows of an exchange no metadata names: keep them, say nothing
    const ExchangeSource& s = it->second;
    if (!s.source.empty()) urls.push_back(s.source);
    bytes += s.source_bytes;
    quote_filters.insert(s.quote_filter);
    if (!s.final) m.provisional.push_back(e);
    source_list.push_back(SourceJson(s));
  }
  std::string quote_filter;
  if (quote_filters.size() == 1) {
    quote_filter = *quote_filters.begin();
  } else if (quote_filters.size() > 1) {
    quote_filter = "per exchange: see exchange_sources";
  }
  m.kv = {
      {"source", Join(urls, " ")},
      {"source_bytes", std::to_string(bytes)},
      {"row_count", std::to_string(m.rows.num_rows)},
      {"first_timestamp", FormatIsoMicros(MicrosFromDate(in.first))},
      {"last_timestamp", FormatIsoMicros(MicrosFromDate(AddDays(in.last, 1)) - 1)},
      {"tool_version", in.tool_version},
      {"created_at", in.created_at},
      {"exchanges", Join(m.exchanges, ",")},
      {"quote_filter", quote_filter},
      {"grouped_symbols", grouped.dump()},
      {"provisional_exchanges", Join(m.provisional, ",")},
      {"exchange_sources", source_list.dump()},
  };
  return m;
}

}  // namespace mt::pipeline
