#include "pipeline/plan.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "net/http_client.h"
#include "tardis/schema.h"

namespace mt::pipeline {

std::string WorkItem::Id() const {
  return FormatDate(day) + "/" + data_type + "/" + exchange + "/" + symbol;
}

bool WorkItem::operator<(const WorkItem& o) const {
  return std::tie(day, data_type, exchange, symbol) < std::tie(o.day, o.data_type, o.exchange, o.symbol);
}

uint64_t StableHash(const WorkItem& item) {
  // FNV-1a over the bytes of Id(), fed piece by piece (no string is built:
  // planning a million items hashes each one twice).
  uint64_t h = 1469598103934665603ULL;
  auto feed = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  char date[10] = {static_cast<char>('0' + item.day.year / 1000 % 10), static_cast<char>('0' + item.day.year / 100 % 10),
                   static_cast<char>('0' + item.day.year / 10 % 10),   static_cast<char>('0' + item.day.year % 10),
                   '-',
                   static_cast<char>('0' + item.day.month / 10),       static_cast<char>('0' + item.day.month % 10),
                   '-',
                   static_cast<char>('0' + item.day.day / 10),         static_cast<char>('0' + item.day.day % 10)};
  feed(std::string_view(date, 10));
  feed("/");
  feed(item.data_type);
  feed("/");
  feed(item.exchange);
  feed("/");
  feed(item.symbol);
  // Final avalanche so nearby ids spread over all shards.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::vector<std::string> SplitList(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    std::string v = csv.substr(start, comma - start);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    if (!v.empty()) out.push_back(v);
    start = comma + 1;
  }
  return out;
}

Result<std::vector<WorkItem>> BuildPlan(const PlanRequest& req) {
  if (req.to < req.from) {
    return Status::Usage("--to " + FormatDate(req.to) + " is before --from " + FormatDate(req.from));
  }
  if (req.exchanges.empty()) return Status::Usage("no exchanges: set --exchanges");
  if (req.data_types.empty()) return Status::Usage("no data types: set --data-types (e.g. trades,quotes)");
  if (req.symbols.empty()) {
    return Status::Usage("no symbols: set --symbols (e.g. --symbols BTCUSDT or deribit:BTC-PERPETUAL)");
  }
  for (const auto& dt : req.data_types) {
    if (!tardis::FindSchema(dt)) {
      return Status::Usage("unknown data type '" + dt + "' (one of: " + tardis::SupportedDataTypes() + ")");
    }
  }
  // Sorted, de-duplicated dimensions, generated in (day, data type, exchange,
  // symbol) order: the product comes out sorted and unique without a sort of
  // a million string tuples.
  auto sorted_unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  const std::vector<std::string> exchanges = sorted_unique(req.exchanges);
  const std::vector<std::string> data_types = sorted_unique(req.data_types);
  std::vector<std::vector<std::string>> symbols_of(exchanges.size());
  size_t total = 0;
  for (size_t e = 0; e < exchanges.size(); e++) {
    std::vector<std::string> syms;
    for (const auto& s : req.symbols) {
      const size_t colon = s.find(':');
      std::string sym = s;
      if (colon != std::string::npos) {
        if (s.substr(0, colon) != exchanges[e]) continue;
        sym = s.substr(colon + 1);
      }
      // The official clients' normalisation: '/' and ':' become '-', upper case.
      for (char& c : sym) {
        if (c == '/' || c == ':') c = '-';
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      syms.push_back(std::move(sym));
    }
    symbols_of[e] = sorted_unique(std::move(syms));
    total += symbols_of[e].size();
  }
  const int64_t days = DaysFromCivil(req.to.year, req.to.month, req.to.day) -
                       DaysFromCivil(req.from.year, req.from.month, req.from.day) + 1;
  if (days > 366 * 20) return Status::Usage("date range longer than 20 years");
  std::vector<WorkItem> items;
  items.reserve(static_cast<size_t>(days) * data_types.size() * total);
  for (int64_t d = 0; d < days; d++) {
    const Date day = AddDays(req.from, d);
    for (const auto& dt : data_types) {
      for (size_t e = 0; e < exchanges.size(); e++) {
        for (const auto& sym : symbols_of[e]) items.push_back(WorkItem{day, dt, exchanges[e], sym, {}});
      }
    }
  }
  return items;
}

Result<Shard> ParseShard(const std::string& text) {
  const size_t slash = text.find('/');
  Shard s;
  try {
    if (slash == std::string::npos) throw 0;
    size_t a = 0, b = 0;
    const long i = std::stol(text.substr(0, slash), &a);
    const long n = std::stol(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1 || n < 1 || i < 0 || i >= n || n > 1000000) throw 0;
    s.index = static_cast<uint32_t>(i);
    s.count = static_cast<uint32_t>(n);
  } catch (...) {
    return Status::Usage("shard '" + text + "' is not I/N with 0 <= I < N (e.g. --shard 3/60)");
  }
  return s;
}

std::vector<WorkItem> SelectShard(const std::vector<WorkItem>& plan, const Shard& shard) {
  if (shard.count <= 1) return plan;
  std::vector<WorkItem> out;
  for (const auto& it : plan) {
    if (StableHash(it) % shard.count == shard.index) out.push_back(it);
  }
  return out;
}

std::string DatasetUrl(const std::string& base, const WorkItem& item) {
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  const std::string d = FormatDate(item.day);
  return b + "/v1/" + item.exchange + "/" + item.data_type + "/" + d.substr(0, 4) + "/" +
         d.substr(5, 2) + "/" + d.substr(8, 2) + "/" + net::UrlEncode(item.symbol) + ".csv.gz";
}

}  // namespace mt::pipeline
