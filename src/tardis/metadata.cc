#include "tardis/metadata.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "core/packed_fields.h"
#include "core/time_util.h"
#include "core/utf8.h"

namespace mt::tardis {

namespace {

using json = nlohmann::json;

// Field accessors that never throw: a missing field and JSON null are both
// "absent"; a field of the wrong type is an error for the caller to report.
class Reader {
 public:
  Reader(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  const json* Get(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status Bad(const char* key, const std::string& what) const {
    const json* v = Get(key);
    std::string shown = v ? v->dump() : "null";
    if (shown.size() > 80) shown = shown.substr(0, 80) + "...";
    return Status::InvalidInput(where_ + ": field '" + key + "' " + what + ", got " + shown);
  }

  Status String(const char* key, std::string* out, bool required = false) const {
    const json* v = Get(key);
    if (!v) return required ? Bad(key, "is required") : Status::OK();
    if (!v->is_string()) return Bad(key, "must be a string");
    *out = v->get_ref<const std::string&>();
    return Status::OK();
  }

  Status OptString(const char* key, std::optional<std::string>* out) const {
    if (!Get(key)) return Status::OK();
    std::string s;
    MT_RETURN_IF_ERROR(String(key, &s));
    *out = std::move(s);
    return Status::OK();
  }

  Status Bool(const char* key, std::optional<bool>* out) const {
    const json* v = Get(key);
    if (!v) return Status::OK();
    if (v->is_boolean()) {
      *out = v->get<bool>();
    } else if (v->is_string() && (*v == "true" || *v == "false")) {
      *out = *v == "true";
    } else {
      return Bad(key, "must be a boolean");
    }
    return Status::OK();
  }

  // Numbers sometimes arrive as strings ("0.5" for 0.5).
  Status Number(const char* key, std::optional<double>* out) const {
    const json* v = Get(key);
    if (!v) return Status::OK();
    if (v->is_number()) {
      *out = v->get<double>();
      return Status::OK();
    }
    if (v->is_string()) {
      const std::string& s = v->get_ref<const std::string&>();
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == '\0' && std::isfinite(d)) {
        *out = d;
        return Status::OK();
      }
    }
    return Bad(key, "must be a number");
  }

  Status Time(const char* key, std::optional<int64_t>* out, bool required = false) const {
    const json* v = Get(key);
    if (!v) return required ? Bad(key, "is required") : Status::OK();
    if (v->is_string()) {
      if (auto t = ParseIsoMicros(v->get_ref<const std::string&>())) {
        *out = *t;
        return Status::OK();
      }
    }
    return Bad(key, "must be an ISO-8601 UTC timestamp");
  }

  Status StringArray(const char* key, std::vector<std::string>* out) const {
    const json* v = Get(key);
    if (!v) return Status::OK();
    if (!v->is_array()) return Bad(key, "must be an array of strings");
    for (const auto& e : *v) {
      if (!e.is_string()) return Bad(key, "must be an array of strings");
      out->push_back(e.get<std::string>());
    }
    return Status::OK();
  }

  const std::string& where() const { return where_; }

 private:
  const json& obj_;
  std::string where_;
};

Status ReadTerms(const Reader& r, InstrumentTerms* t) {
  MT_RETURN_IF_ERROR(r.Number("priceIncrement", &t->price_increment));
  MT_RETURN_IF_ERROR(r.Number("amountIncrement", &t->amount_increment));
  MT_RETURN_IF_ERROR(r.Number("minTradeAmount", &t->min_trade_amount));
  MT_RETURN_IF_ERROR(r.Number("contractMultiplier", &t->contract_multiplier));
  MT_RETURN_IF_ERROR(r.Number("minNotional", &t->min_notional));
  MT_RETURN_IF_ERROR(r.Bool("inverse", &t->inverse));
  MT_RETURN_IF_ERROR(r.Bool("quanto", &t->quanto));
  MT_RETURN_IF_ERROR(r.OptString("settlementCurrency", &t->settlement_currency));
  MT_RETURN_IF_ERROR(r.OptString("contractType", &t->contract_type));
  MT_RETURN_IF_ERROR(r.OptString("underlyingIndex", &t->underlying_index));
  MT_RETURN_IF_ERROR(r.OptString("quoteCurrency", &t->quote_currency));
  MT_RETURN_IF_ERROR(r.OptString("type", &t->type));
  MT_RETURN_IF_ERROR(r.OptString("aliasFor", &t->alias_for));
  MT_RETURN_IF_ERROR(r.Time("expiry", &t->expiry_us));
  return Status::OK();
}

Status ReadInstrument(const json& obj, size_t index, InstrumentInfo* out) {
  if (!obj.is_object()) {
    return Status::InvalidInput("/v1/instruments record " + std::to_string(index) + " is not a JSON object");
  }
  std::string where = "/v1/instruments record " + std::to_string(index);
  if (auto it = obj.find("id"); it != obj.end() && it->is_string()) {
    where += " (id '" + EscapeOutsideText(it->get<std::string>(), 100) + "')";
  }
  const Reader r(obj, where);
  MT_RETURN_IF_ERROR(r.String("id", &out->id, true));
  MT_RETURN_IF_ERROR(r.String("datasetId", &out->dataset_id));
  MT_RETURN_IF_ERROR(r.String("exchange", &out->exchange, true));
  MT_RETURN_IF_ERROR(r.String("baseCurrency", &out->base_currency));
  MT_RETURN_IF_ERROR(r.String("quoteCurrency", &out->quote_currency));
  MT_RETURN_IF_ERROR(r.String("type", &out->type, true));
  std::optional<bool> active;
  MT_RETURN_IF_ERROR(r.Bool("active", &active));
  out->active = active.value_or(false);
  std::optional<int64_t> since;
  MT_RETURN_IF_ERROR(r.Time("availableSince", &since));
  out->available_since_us = since.value_or(0);
  MT_RETURN_IF_ERROR(r.Time("availableTo", &out->available_to_us));
  MT_RETURN_IF_ERROR(r.Time("listing", &out->listing_us));
  MT_RETURN_IF_ERROR(r.Number("strikePrice", &out->strike_price));
  MT_RETURN_IF_ERROR(r.String("optionType", &out->option_type));
  MT_RETURN_IF_ERROR(r.String("underlyingType", &out->underlying_type));
  MT_RETURN_IF_ERROR(r.String("expirationType", &out->expiration_type));
  MT_RETURN_IF_ERROR(ReadTerms(r, &out->terms));

  if (const json* changes = r.Get("changes")) {
    if (!changes->is_array()) return r.Bad("changes", "must be an array");
    for (size_t i = 0; i < changes->size(); i++) {
      const json& c = (*changes)[i];
      if (!c.is_object()) return r.Bad("changes", "must hold objects");
      const Reader cr(c, where + " changes[" + std::to_string(i) + "]");
      InstrumentChange ch;
      std::optional<int64_t> until;
      MT_RETURN_IF_ERROR(cr.Time("until", &until, true));
      ch.until_us = *until;
      MT_RETURN_IF_ERROR(ReadTerms(cr, &ch.terms));
      out->changes.push_back(std::move(ch));
    }
    std::stable_sort(out->changes.begin(), out->changes.end(),
                     [](const InstrumentChange& a, const InstrumentChange& b) { return a.until_us < b.until_us; });
  }
  return Status::OK();
}

template <typename T>
void Override(std::optional<T>* dst, const std::optional<T>& src) {
  if (src) *dst = src;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; i++) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// `start`: the body's first bytes (at least 120 of them when it has them).
std::string ParseErrorMessage(std::string_view what, std::string_view start, uint64_t size) {
  std::string head(start.substr(0, 120));
  for (char& c : head) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return std::string(what) + " is not valid JSON (" + std::to_string(size) + " bytes, starting '" + head + "')";
}
std::string ParseErrorMessage(std::string_view what, std::string_view json) {
  return ParseErrorMessage(what, json, json.size());
}
std::string ParseErrorMessage(std::string_view what, const JsonBody& body) {
  std::string start;  // ReadAt may give fewer bytes than asked
  while (start.size() < 120) {
    auto piece = body.ReadAt(start.size(), 120 - start.size());
    if (!piece.ok() || piece->empty()) break;
    start += *piece;
  }
  return ParseErrorMessage(what, start, body.size());
}

// The objects directly inside a text when it is a JSON array (0 when it is
// not one), fed piece by piece: the records ParseInstruments will convert,
// so their vector is allocated once. Brackets inside strings do not count.
class TopLevelObjectCounter {
 public:
  void Feed(std::string_view text) {
    size_t i = 0;
    if (!started_) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) i++;
      if (i == text.size()) return;
      started_ = true;
      array_ = text[i] == '[';
    }
    if (!array_) return;
    for (; i < text.size(); i++) {
      const char c = text[i];
      if (!strings_.Outside(c)) continue;
      if (c == '[' || c == '{') {
        if (c == '{' && depth_ == 1) objects_++;
        depth_++;
      } else if ((c == ']' || c == '}') && depth_ > 0) {
        depth_--;
      }
    }
  }
  size_t objects() const { return array_ ? objects_ : 0; }

 private:
  bool started_ = false, array_ = false;
  size_t depth_ = 0, objects_ = 0;
  JsonStringState strings_;
};

size_t TopLevelObjects(std::string_view text) {
  TopLevelObjectCounter c;
  c.Feed(text);
  return c.objects();
}

// A document's parse: ParseBoundedJson of a text, or ParseBoundedJsonPieces
// of a body, with the callback given and the document's name.
using DocumentParse = std::function<Result<json>(const json::parser_callback_t&, const std::string& what)>;

}  // namespace

std::optional<int64_t> ParseIsoMicros(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d)) {
    return std::nullopt;
  }
  char buf[11];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, mo, d);
  if (!ParseDate(buf)) return std::nullopt;  // not a real calendar day
  size_t p = 10;
  int64_t frac_us = 0;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!Digits(s, p + 1, 2, &h) || p + 3 >= s.size() || s[p + 3] != ':' || !Digits(s, p + 4, 2, &mi)) {
      return std::nullopt;
    }
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!Digits(s, p + 1, 2, &sec)) return std::nullopt;
      p += 3;
      if (p < s.size() && s[p] == '.') {
        p++;
        int64_t scale = 100000;
        const size_t start = p;
        while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
          frac_us += (s[p] - '0') * scale;  // digits past the 6th are truncated
          scale /= 10;
          p++;
        }
        if (p == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' && p + 1 == s.size()) {
      p++;
    } else if ((s[p] == '+' || s[p] == '-') && s.size() == p + 6 && s[p + 3] == ':') {
      int oh, om;
      if (!Digits(s, p + 1, 2, &oh) || !Digits(s, p + 4, 2, &om)) return std::nullopt;
      offset_s = (s[p] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      p = s.size();
    } else {
      return std::nullopt;
    }
  }
  const int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1000000 + frac_us;
}

std::string NormalizeDatasetSymbol(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '/' || c == ':') c = '-';
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string InstrumentInfo::DatasetSymbolId() const {
  return dataset_id.empty() ? NormalizeDatasetSymbol(id) : dataset_id;
}

InstrumentTerms InstrumentInfo::TermsAt(int64_t t_us) const {
  InstrumentTerms t = terms;
  // Latest first, so the earliest change after t_us is applied last and wins.
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    if (it->until_us <= t_us) break;
    const InstrumentTerms& c = it->terms;
    Override(&t.price_increment, c.price_increment);
    Override(&t.amount_increment, c.amount_increment);
    Override(&t.min_trade_amount, c.min_trade_amount);
    Override(&t.contract_multiplier, c.contract_multiplier);
    Override(&t.min_notional, c.min_notional);
    Override(&t.inverse, c.inverse);
    Override(&t.quanto, c.quanto);
    Override(&t.settlement_currency, c.settlement_currency);
    Override(&t.contract_type, c.contract_type);
    Override(&t.underlying_index, c.underlying_index);
    Override(&t.quote_currency, c.quote_currency);
    Override(&t.type, c.type);
    Override(&t.alias_for, c.alias_for);
    Override(&t.expiry_us, c.expiry_us);
  }
  return t;
}

namespace {

Result<ExchangeDetails> ParseExchangeDetailsWith(const DocumentParse& parse,
                                                 const std::function<std::string(const std::string&)>& parse_error,
                                                 std::string_view exchange) {
  const std::string what = "/v1/exchanges/" + std::string(exchange);
  DatasetSymbols symbols;
  Status symbol_error;
  std::string top_key, datasets_key;
  // Listings the definitions do not use are dropped while parsing (for
  // venues with many thousands of symbols they are most of the response), and
  // each datasets.symbols[] entry is converted when it closes and then
  // dropped: nlohmann's callback parser scans the parent container after
  // every closed object, so a growing array would make parsing quadratic.
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && parsed.is_string()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (depth == 1) {
        top_key = k;
        return k != "availableSymbols" && k != "channelDetails" && k != "dataCollectionDetails" &&
               k != "availableChannels";
      }
      if (depth == 2) datasets_key = k;
      return true;
    }
    if (event != json::parse_event_t::object_end || depth != 3 || top_key != "datasets" ||
        datasets_key != "symbols") {
      return true;
    }
    const size_t i = symbols.size();
    std::string where = what + " datasets.symbols[" + std::to_string(i) + "]";
    if (auto it = parsed.find("id"); it != parsed.end() && it->is_string()) {
      where += " (id '" + EscapeOutsideText(it->get<std::string>(), 100) + "')";
    }
    const Reader sr(parsed, where);
    DatasetSymbol sym;
    std::optional<int64_t> from;
    Status st = sr.String("id", &sym.id, true);
    // A symbol goes into URLs, object names and stdout lines: a control
    // character (a line break, ESC) is no real symbol's, and could forge a line.
    if (st.ok() && std::any_of(sym.id.begin(), sym.id.end(),
                               [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
      st = Status::InvalidInput(where + ": field 'id' holds a control character");
    }
    if (st.ok()) st = sr.String("type", &sym.type);
    if (st.ok()) st = sr.Time("availableSince", &from, true);
    if (st.ok()) st = sr.Time("availableTo", &sym.available_to_us);
    if (st.ok()) st = sr.StringArray("dataTypes", &sym.data_types);
    if (st.ok()) {
      sym.available_since_us = *from;
    } else if (symbol_error.ok()) {
      symbol_error = st;
    }
    symbols.push_back(sym);  // kept even when bad, so indices stay right
    return false;
  };
  MT_ASSIGN_OR_RETURN(json root, parse(on_event, what));
  if (root.is_discarded()) return Status::InvalidInput(parse_error(what));
  if (!root.is_object()) return Status::InvalidInput(what + ": expected a JSON object");
  MT_RETURN_IF_ERROR(symbol_error);

  ExchangeDetails d;
  const Reader r(root, what);
  MT_RETURN_IF_ERROR(r.String("id", &d.id, true));
  if (d.id != exchange) {
    return Status::InvalidInput(what + ": the response describes exchange '" + d.id + "'");
  }
  MT_RETURN_IF_ERROR(r.String("name", &d.name));
  std::optional<bool> b;
  MT_RETURN_IF_ERROR(r.Bool("enabled", &b));
  d.enabled = b.value_or(true);
  b.reset();
  MT_RETURN_IF_ERROR(r.Bool("delisted", &b));
  d.delisted = b.value_or(false);
  std::optional<int64_t> since;
  MT_RETURN_IF_ERROR(r.Time("availableSince", &since));
  d.available_since_us = since.value_or(0);
  MT_RETURN_IF_ERROR(r.Time("availableTo", &d.available_to_us));

  if (const json* incidents = r.Get("incidentReports")) {
    if (!incidents->is_array()) return r.Bad("incidentReports", "must be an array");
    for (size_t i = 0; i < incidents->size(); i++) {
      const json& o = (*incidents)[i];
      if (!o.is_object()) return r.Bad("incidentReports", "must hold objects");
      const Reader ir(o, what + " incidentReports[" + std::to_string(i) + "]");
      IncidentReport rep;
      std::optional<int64_t> from, to;
      MT_RETURN_IF_ERROR(ir.Time("from", &from, true));
      MT_RETURN_IF_ERROR(ir.Time("to", &to, true));
      MT_RETURN_IF_ERROR(ir.String("status", &rep.status));
      MT_RETURN_IF_ERROR(ir.String("details", &rep.details));
      rep.from_us = *from;
      rep.to_us = *to;
      d.incidents.push_back(std::move(rep));
    }
  }

  const json* ds = r.Get("datasets");
  if (!ds) return d;
  if (!ds->is_object()) return r.Bad("datasets", "must be an object");
  d.has_datasets = true;
  const Reader dr(*ds, what + " datasets");
  MT_RETURN_IF_ERROR(dr.Time("exportedFrom", &d.exported_from_us));
  MT_RETURN_IF_ERROR(dr.Time("exportedUntil", &d.exported_until_us));
  const json* syms = dr.Get("symbols");
  if (!syms) return d;
  // Converted entries were taken out; anything left is not an object.
  if (!syms->is_array() || !syms->empty()) return dr.Bad("symbols", "must be an array of objects");
  d.symbols = std::move(symbols);
  return d;
}

}  // namespace

Result<ExchangeDetails> ParseExchangeDetails(std::string_view text, std::string_view exchange) {
  return ParseExchangeDetailsWith(
      [&](const json::parser_callback_t& cb, const std::string& what) {
        return ParseBoundedJson(text, what, cb, kTardisMetadataJsonLimits);
      },
      [&](const std::string& what) { return ParseErrorMessage(what, text); }, exchange);
}

Result<ExchangeDetails> ParseExchangeDetails(const JsonBody& body, std::string_view exchange) {
  return ParseExchangeDetailsWith(
      [&](const json::parser_callback_t& cb, const std::string& what) {
        return ParseBoundedJsonPieces(body.Pieces(), what, cb, kTardisMetadataJsonLimits);
      },
      [&](const std::string& what) { return ParseErrorMessage(what, body); }, exchange);
}

namespace {

// Converts every record of `text`: `reserve` is told how many there are
// (when known) before the first, `add` takes each.
// `records`: the objects of the top-level array (TopLevelObjects) of a
// body of `size` bytes.
Status ParseRecords(size_t records, uint64_t size, const DocumentParse& parse,
                    const std::function<std::string(const std::string&)>& parse_error,
                    const std::function<void(size_t)>& reserve, const std::function<void(InstrumentInfo&&)>& add) {
  // Room for every record at once: a record is large, and a vector grown by
  // doubling holds up to twice the records' room, the old array beside the
  // new while it grows. A valid record has its required fields (at least 32
  // bytes); a body of many tiny objects, which is not the listing, grows as
  // it parses instead of taking room many times its size at once.
  if (records <= size / 32 && records * sizeof(InstrumentInfo) <= 4 * size + (size_t{1} << 20)) reserve(records);
  Status first_error;
  size_t index = 0;
  bool root_is_array = false;
  // Each record of the top-level array is converted when its object closes
  // and then dropped from the DOM (returning false discards it).
  auto convert = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 0 && event == json::parse_event_t::array_start) root_is_array = true;
    if (!root_is_array || event != json::parse_event_t::object_end || depth != 1) return true;
    InstrumentInfo info;
    Status st = ReadInstrument(parsed, index++, &info);
    if (!st.ok()) {
      if (first_error.ok()) first_error = st;
    } else if (first_error.ok()) {
      add(std::move(info));
    }
    return false;
  };
  MT_ASSIGN_OR_RETURN(json root, parse(convert, "/v1/instruments"));
  if (root.is_discarded()) return Status::InvalidInput(parse_error("/v1/instruments"));
  if (!first_error.ok()) return first_error;
  if (root.is_object()) {  // the single-record form
    InstrumentInfo info;
    MT_RETURN_IF_ERROR(ReadInstrument(root, 0, &info));
    add(std::move(info));
  } else if (!root.is_array()) {
    return Status::InvalidInput("/v1/instruments: expected a JSON array of records");
  } else if (!root.empty()) {  // only records were taken out
    return Status::InvalidInput("/v1/instruments: the array holds a non-object: " + root.front().dump().substr(0, 80));
  }
  return Status::OK();
}

Status ParseRecords(std::string_view text, const std::function<void(size_t)>& reserve,
                    const std::function<void(InstrumentInfo&&)>& add) {
  return ParseRecords(
      TopLevelObjects(text), text.size(),
      [&](const json::parser_callback_t& cb, const std::string& what) {
        return ParseBoundedJson(text, what, cb, kTardisMetadataJsonLimits);
      },
      [&](const std::string& what) { return ParseErrorMessage(what, text); }, reserve, add);
}

// The same of a body read piece by piece: once for the count, once parsed.
Status ParseRecords(const JsonBody& body, const std::function<void(size_t)>& reserve,
                    const std::function<void(InstrumentInfo&&)>& add) {
  TopLevelObjectCounter counter;
  const auto read = body.Pieces();
  while (true) {
    MT_ASSIGN_OR_RETURN(std::string piece, read());
    if (piece.empty()) break;
    counter.Feed(piece);
  }
  return ParseRecords(
      counter.objects(), body.size(),
      [&](const json::parser_callback_t& cb, const std::string& what) {
        return ParseBoundedJsonPieces(body.Pieces(), what, cb, kTardisMetadataJsonLimits);
      },
      [&](const std::string& what) { return ParseErrorMessage(what, body); }, reserve, add);
}

template <typename Terms, typename F>
void TermsFields(Terms& t, F& f) {
  f(t.price_increment);
  f(t.amount_increment);
  f(t.min_trade_amount);
  f(t.contract_multiplier);
  f(t.min_notional);
  f(t.inverse);
  f(t.quanto);
  f(t.settlement_currency);
  f(t.contract_type);
  f(t.underlying_index);
  f(t.quote_currency);
  f(t.type);
  f(t.alias_for);
  f(t.expiry_us);
}

// The members of a record after the three read without decoding
// (exchange, id, dataset_id, first), in member order; then its changes.
template <typename Info, typename F>
void InfoFields(Info& i, F& f) {
  f(i.base_currency);
  f(i.quote_currency);
  f(i.type);
  f(i.active);
  f(i.available_since_us);
  f(i.available_to_us);
  f(i.listing_us);
  f(i.strike_price);
  f(i.option_type);
  f(i.underlying_type);
  f(i.expiration_type);
  TermsFields(i.terms, f);
}

}  // namespace

Result<std::vector<InstrumentInfo>> ParseInstruments(std::string_view text) {
  std::vector<InstrumentInfo> out;
  MT_RETURN_IF_ERROR(ParseRecords(
      text, [&](size_t n) { out.reserve(n); }, [&](InstrumentInfo&& info) { out.push_back(std::move(info)); }));
  return out;
}

Result<PackedInstruments> ParseInstrumentsPacked(std::string_view text) {
  PackedInstruments out;
  MT_RETURN_IF_ERROR(ParseRecords(
      text, [&](size_t n) { out.Reserve(n); }, [&](InstrumentInfo&& info) { out.Add(info); }));
  return out;
}

Result<PackedInstruments> ParseInstrumentsPacked(const JsonBody& body) {
  PackedInstruments out;
  MT_RETURN_IF_ERROR(ParseRecords(
      body, [&](size_t n) { out.Reserve(n); }, [&](InstrumentInfo&& info) { out.Add(info); }));
  return out;
}

std::function<Result<std::string>()> JsonBody::Pieces(size_t piece_bytes) const {
  auto at = std::make_shared<uint64_t>(0);
  return [this, at, piece_bytes]() -> Result<std::string> {
    if (*at >= size()) return std::string();
    MT_ASSIGN_OR_RETURN(std::string piece, ReadAt(*at, piece_bytes));
    if (piece.empty()) return Status::IOError("cannot read a response body back: it ends early");
    *at += piece.size();
    return piece;
  };
}

Result<std::string> StringJsonBody::ReadAt(uint64_t at, size_t n) const {
  if (at >= text_.size()) return std::string();
  return text_.substr(static_cast<size_t>(at), n);
}

FileJsonBody::~FileJsonBody() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> FileJsonBody::ReadAt(uint64_t at, size_t n) const {
  if (at >= size_) return std::string();
  std::string out(static_cast<size_t>(std::min<uint64_t>(n, size_ - at)), '\0');
  for (size_t done = 0; done < out.size();) {
    const ssize_t r = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return Status::IOError(std::string("cannot read a response body back from its temporary file (") +
                             std::strerror(r < 0 ? errno : EIO) + ")");
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

namespace {

template <typename Sym, typename F>
void SymbolFields(Sym& s, F&& f) {
  f(s.id);
  f(s.type);
  f(s.available_since_us);
  f(s.available_to_us);
}

}  // namespace

DatasetSymbols::DatasetSymbols() : blobs_(std::make_shared<SpilledBlobs>()) {}

DatasetSymbols::DatasetSymbols(std::initializer_list<DatasetSymbol> symbols) : DatasetSymbols() {
  for (const auto& s : symbols) push_back(s);
}

void DatasetSymbols::push_back(const DatasetSymbol& s) {
  std::string packed;
  const PackWriter w(&packed);
  SymbolFields(s, w);
  w.Length(s.data_types.size());
  for (const auto& t : s.data_types) w(t);
  offsets_.push_back(blobs_->Append(packed));
}

namespace {

void UnpackSymbol(std::string_view packed, DatasetSymbol* out) {
  if (packed.empty()) {
    *out = DatasetSymbol();
    return;
  }
  PackReader r(packed.data());
  SymbolFields(*out, r);
  out->data_types.resize(r.Length());
  for (auto& t : out->data_types) r(t);
}

}  // namespace

DatasetSymbol DatasetSymbols::operator[](size_t i) const {
  std::string packed;
  blobs_->Read(offsets_[i], static_cast<size_t>(End(i) - offsets_[i]), &packed);
  DatasetSymbol out;
  UnpackSymbol(packed, &out);
  return out;
}

void DatasetSymbols::Clear() {
  std::vector<uint64_t>().swap(offsets_);
  blobs_ = std::make_shared<SpilledBlobs>();
}

void DatasetSymbols::Iterator::Load() {
  if (i_ >= s_->size()) return;
  const uint64_t at = s_->offsets_[i_], end = s_->End(i_);
  if (at < window_at_ || end > window_at_ + window_.size()) {
    // The window moves on: this symbol and those after it, up to its size.
    constexpr uint64_t kWindow = uint64_t{1} << 16;
    const uint64_t stop = std::min(s_->blobs_->size(), std::max(end, at + kWindow));
    window_at_ = at;
    if (!s_->blobs_->Read(at, static_cast<size_t>(stop - at), &window_)) window_.clear();
  }
  if (end > window_at_ + window_.size()) {  // not read back
    current_ = DatasetSymbol();
    return;
  }
  UnpackSymbol(std::string_view(window_).substr(static_cast<size_t>(at - window_at_), static_cast<size_t>(end - at)),
               &current_);
}

PackedInstruments::PackedInstruments() : blobs_(std::make_shared<SpilledBlobs>()) {}

PackedInstruments::PackedInstruments(const std::vector<InstrumentInfo>& records) : PackedInstruments() {
  offsets_.reserve(records.size());
  for (const auto& r : records) Add(r);
}

void PackInstrument(const InstrumentInfo& info, std::string* out) {
  const PackWriter w(out);
  w(info.exchange);
  w(info.id);
  w(info.dataset_id);
  InfoFields(info, w);
  w.Length(info.changes.size());
  for (const auto& c : info.changes) {
    w(c.until_us);
    TermsFields(c.terms, w);
  }
}

void UnpackInstrument(std::string_view packed, InstrumentInfo* out) {
  if (packed.empty()) {  // a record that could not be read back
    *out = InstrumentInfo();
    return;
  }
  PackReader r(packed.data());
  r(out->exchange);
  r(out->id);
  r(out->dataset_id);
  InfoFields(*out, r);
  out->changes.resize(r.Length());
  for (auto& c : out->changes) {
    r(c.until_us);
    TermsFields(c.terms, r);
  }
}

void PackedInstruments::Add(const InstrumentInfo& info) {
  std::string packed;
  PackInstrument(info, &packed);
  if (!blobs_) blobs_ = std::make_shared<SpilledBlobs>();
  offsets_.push_back(blobs_->Append(packed));
}

bool PackedInstruments::Packed(size_t i, std::string* out) const {
  const uint64_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : blobs_->size();
  return blobs_->Read(offsets_[i], static_cast<size_t>(end - offsets_[i]), out);
}

void PackedInstruments::Get(size_t i, InstrumentInfo* out) const {
  std::string packed;
  Packed(i, &packed);
  UnpackInstrument(packed, out);
}

InstrumentInfo PackedInstruments::Get(size_t i) const {
  InstrumentInfo out;
  Get(i, &out);
  return out;
}

std::string PackedInstruments::exchange(size_t i) const {
  std::string packed;
  if (!Packed(i, &packed) || packed.empty()) return "";
  return std::string(PackReader(packed.data()).View());
}

std::string PackedInstruments::DatasetSymbolId(size_t i) const {
  std::string packed;
  if (!Packed(i, &packed) || packed.empty()) return "";
  PackReader r(packed.data());
  r.View();
  const std::string_view id = r.View(), dataset_id = r.View();
  return dataset_id.empty() ? NormalizeDatasetSymbol(id) : std::string(dataset_id);
}

void PackedInstruments::Clear() {
  std::vector<uint64_t>().swap(offsets_);
  blobs_ = std::make_shared<SpilledBlobs>();
}

Status PackedInstruments::status() const { return blobs_ ? blobs_->status() : Status::OK(); }

std::string PackedInstruments::note() const { return blobs_ ? blobs_->note() : ""; }

}  // namespace mt::tardis
