#include "pipeline/instruments_format.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>

#include "pipeline/instruments_file.h"

namespace mt::pipeline {

namespace {

// The shortest text that reads back as v, plain or with an exponent,
// whichever is shorter (100 and 70000 as such, 1e-05 and 1e+22 with one):
// %g's shortest precision wrote 100 as 1e+02.
std::string Shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Each column as text, in InstrumentColumns() order; null is nullopt.
std::vector<std::optional<std::string>> Cells(const InstrumentDefinition& d) {
  using S = std::optional<std::string>;
  auto ts = [](const std::optional<int64_t>& v) { return v ? S(FormatIsoMicros(*v)) : S(); };
  auto num = [](const std::optional<double>& v) { return v ? S(Shortest(*v)) : S(); };
  auto b = [](const std::optional<bool>& v) { return v ? S(*v ? "true" : "false") : S(); };
  return {d.instrument_key, d.venue, d.instrument_type, ts(d.available_from_us), ts(d.available_to_us),
          d.data_types, d.base_asset, d.quote_asset, d.settle_asset, d.exchange_raw_symbol, d.tardis_symbol,
          d.tardis_exchange, d.data_provider, d.venue_type, d.asset_class, b(d.inverse), d.symbol_type,
          d.contract_type, num(d.strike), d.option_type, ts(d.expiry_us), num(d.contract_size),
          num(d.tick_size), d.settlement_type, d.underlying, num(d.min_size), d.ccxt_symbol, d.ccxt_exchange,
          d.price_currency, d.amount_unit, num(d.amount_increment), num(d.min_trade_amount), num(d.min_notional),
          b(d.quanto), d.underlying_index, d.expiration_type, b(d.active), ts(d.listing_us), d.alias_for};
}

// The position of column `name` in Cells(); the names are InstrumentColumns'.
size_t ColumnIndex(const std::string& name) {
  const auto& cols = InstrumentColumns();
  for (size_t i = 0; i < cols.size(); i++) {
    if (cols[i].name == name) return i;
  }
  std::abort();  // a name below that is not a column: a programming error
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void Csv(const DefinitionSource& defs, const TextSink& out) {
  const auto& cols = InstrumentColumns();
  std::string line;
  for (size_t i = 0; i < cols.size(); i++) line += (i ? "," : "") + cols[i].name;
  line += '\n';
  out(line);
  defs([&](const InstrumentDefinition& d) {
    const auto cells = Cells(d);
    line.clear();
    for (size_t i = 0; i < cells.size(); i++) {
      if (i) line += ',';
      if (cells[i]) line += CsvField(*cells[i]);
    }
    line += '\n';
    out(line);
  });
}

// The array nlohmann's dump(1) makes of the definitions' objects, an object
// at a time: each object's own dump(1) one level in ("[]" when there is none).
void Json(const DefinitionSource& defs, const TextSink& out) {
  using ojson = nlohmann::ordered_json;
  const auto& cols = InstrumentColumns();
  bool first = true;
  std::string text;
  defs([&](const InstrumentDefinition& d) {
    const auto cells = Cells(d);
    ojson o = ojson::object();
    for (size_t i = 0; i < cols.size(); i++) {
      if (!cells[i]) {
        o[cols[i].name] = nullptr;
      } else if (cols[i].kind == columnar::ColumnKind::kDouble) {
        o[cols[i].name] = std::strtod(cells[i]->c_str(), nullptr);
      } else if (cols[i].kind == columnar::ColumnKind::kBool) {
        o[cols[i].name] = *cells[i] == "true";
      } else {
        o[cols[i].name] = *cells[i];
      }
    }
    // A dump has no raw line break but those between its members (strings
    // are escaped), so indenting every line is indenting each member.
    const std::string dumped = o.dump(1);
    text = first ? "[\n " : ",\n ";
    first = false;
    for (char c : dumped) {
      text += c;
      if (c == '\n') text += ' ';
    }
    out(text);
  });
  out(first ? "[]\n" : "\n]\n");
}

// Two passes over the definitions: the columns' widths and the count, then
// the rows.
void Table(const DefinitionSource& defs, const TextSink& out) {
  // A readable subset; csv and json carry every column. Availability is
  // shown as its day.
  struct Shown {
    const char* name;
    bool day_only;
  };
  static const Shown kShown[] = {{"instrument_key", false},         {"tardis_symbol", false},
                                 {"available_from_datetime", true}, {"available_to_datetime", true},
                                 {"settle_asset", false},           {"inverse", false},
                                 {"tick_size", false},              {"contract_size", false},
                                 {"data_types", false}};
  std::vector<size_t> index;
  std::vector<std::string> header;
  for (const auto& s : kShown) {
    index.push_back(ColumnIndex(s.name));
    header.push_back(s.name);
  }
  auto row_of = [&](const InstrumentDefinition& d, std::vector<std::string>* r) {
    const auto cells = Cells(d);
    r->clear();
    for (size_t k = 0; k < index.size(); k++) {
      std::string v = cells[index[k]].value_or("-");
      if (kShown[k].day_only) v = v.substr(0, std::min<size_t>(v.size(), 10));
      r->push_back(std::move(v));
    }
  };
  std::vector<size_t> w(index.size(), 0);
  size_t count = 0;
  std::vector<std::string> r;
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); i++) w[i] = std::max(w[i], row[i].size());
  };
  widen(header);
  defs([&](const InstrumentDefinition& d) {
    row_of(d, &r);
    widen(r);
    count++;
  });
  std::string line;
  auto write = [&](const std::vector<std::string>& row) {
    line.clear();
    for (size_t i = 0; i < row.size(); i++) {
      line += row[i];
      if (i + 1 < row.size()) line.append(w[i] + 2 - row[i].size(), ' ');
    }
    line += '\n';
    out(line);
  };
  write(header);
  defs([&](const InstrumentDefinition& d) {
    row_of(d, &r);
    write(r);
  });
  out(std::to_string(count) + " instruments\n");
}

}  // namespace

void FormatDefinitions(const DefinitionSource& defs, const std::string& format, const TextSink& out) {
  if (format == "csv") return Csv(defs, out);
  if (format == "json") return Json(defs, out);
  Table(defs, out);
}

std::string FormatDefinitions(const std::vector<InstrumentDefinition>& defs, const std::string& format) {
  std::string text;
  FormatDefinitions(
      [&defs](const DefinitionFn& fn) {
        for (const auto& d : defs) fn(d);
      },
      format, [&text](std::string_view piece) { text += piece; });
  return text;
}

}  // namespace mt::pipeline
