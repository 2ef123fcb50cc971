#include "pipeline/estimate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/cancel.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

namespace {

using StratumKey = std::pair<std::string, std::string>;  // exchange, data type

// Item indices per stratum, each list in (day, symbol) order.
std::map<StratumKey, std::vector<size_t>> Strata(const std::vector<WorkItem>& items) {
  std::map<StratumKey, std::vector<size_t>> out;
  for (size_t i = 0; i < items.size(); i++) out[{items[i].exchange, items[i].data_type}].push_back(i);
  for (auto& [k, idx] : out) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return std::tie(items[a].day, items[a].symbol, a) < std::tie(items[b].day, items[b].symbol, b);
    });
  }
  return out;
}

// `m` of the stratum's items (m <= idx.size()): day groups evenly, a
// golden-ratio position within the day, the next unused item on a collision.
std::vector<size_t> SpreadInStratum(const std::vector<WorkItem>& items, const std::vector<size_t>& idx, size_t m) {
  std::vector<std::pair<size_t, size_t>> days;  // [begin, end) in idx per day
  for (size_t i = 0; i < idx.size(); i++) {
    if (i == 0 || !(items[idx[i]].day == items[idx[i - 1]].day)) days.push_back({i, i});
    days.back().second = i + 1;
  }
  constexpr double kPhi = 0.6180339887498949;
  std::vector<bool> used(idx.size(), false);
  std::vector<size_t> out;
  for (size_t k = 0; k < m; k++) {
    const size_t g = static_cast<size_t>((static_cast<double>(k) + 0.5) * static_cast<double>(days.size()) /
                                         static_cast<double>(m));
    const auto [b, e] = days[std::min(g, days.size() - 1)];
    double frac = 0.5 + static_cast<double>(k) * kPhi;
    frac -= std::floor(frac);
    size_t j = b + std::min(e - b - 1, static_cast<size_t>(frac * static_cast<double>(e - b)));
    // The next unused position, wrapping round the whole stratum (m <= size,
    // so one exists).
    while (used[j]) j = (j + 1) % idx.size();
    used[j] = true;
    out.push_back(idx[j]);
  }
  return out;
}

std::string FormatBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (b >= 1000 && u < 5) {
    b /= 1000;
    u++;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

}  // namespace

std::vector<size_t> ChooseSamples(const std::vector<WorkItem>& items, size_t budget) {
  const auto strata = Strata(items);
  std::vector<const std::pair<const StratumKey, std::vector<size_t>>*> order;
  for (const auto& s : strata) order.push_back(&s);
  // Larger strata first (ties in key order): they get the first samples
  // when the budget is smaller than the number of strata.
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->second.size() > b->second.size(); });
  std::vector<size_t> alloc(order.size(), 0);
  size_t left = budget;
  for (size_t s = 0; s < order.size() && left > 0; s++, left--) alloc[s] = 1;
  if (left > 0) {
    // Largest remainder over what each stratum could still take.
    size_t room_total = 0;
    for (size_t s = 0; s < order.size(); s++) room_total += order[s]->second.size() - alloc[s];
    const size_t give = std::min(left, room_total);
    std::vector<std::pair<double, size_t>> rema;
    size_t given = 0;
    for (size_t s = 0; s < order.size(); s++) {
      const double share = static_cast<double>(give) * static_cast<double>(order[s]->second.size()) /
                           static_cast<double>(items.size());
      const size_t room = order[s]->second.size() - alloc[s];
      const size_t whole = std::min(room, static_cast<size_t>(share));
      alloc[s] += whole;
      given += whole;
      rema.push_back({share - std::floor(share), s});
    }
    std::stable_sort(rema.begin(), rema.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    // Hand out what is left by remainder, then wherever room is, until done.
    for (int pass = 0; pass < 2 && given < give; pass++) {
      for (const auto& [r, s] : rema) {
        if (given >= give) break;
        if (alloc[s] < order[s]->second.size() && (pass == 1 || r > 0)) {
          alloc[s]++;
          given++;
        }
      }
    }
    for (size_t s = 0; s < order.size() && given < give; s++) {
      while (given < give && alloc[s] < order[s]->second.size()) {
        alloc[s]++;
        given++;
      }
    }
  }
  std::vector<size_t> out;
  for (size_t s = 0; s < order.size(); s++) {
    if (alloc[s] == 0) continue;
    for (size_t i : SpreadInStratum(items, order[s]->second, alloc[s])) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

PlanEstimate Extrapolate(const std::vector<WorkItem>& items, const std::vector<SampledSize>& sizes,
                         size_t derived_items, double mb_per_second) {
  PlanEstimate e;
  e.items = items.size();
  e.derived_items = derived_items;
  e.mb_per_second = mb_per_second;
  for (const auto& it : items) {
    if (tardis::IsGroupedSymbol(it.symbol)) e.grouped_items++;
  }
  e.objects = items.size() - e.grouped_items + derived_items;
  e.samples = sizes.size();
  std::map<size_t, uint64_t> size_of;
  for (const auto& s : sizes) size_of[s.index] = s.bytes;
  std::map<std::string, std::pair<double, size_t>> by_type;  // data type -> sum, count of samples
  double all_sum = 0;
  for (const auto& [idx_list_key, idx] : Strata(items)) {
    StratumEstimate st;
    st.exchange = idx_list_key.first;
    st.data_type = idx_list_key.second;
    st.items = idx.size();
    std::vector<double> xs;
    for (size_t i : idx) {
      if (auto it = size_of.find(i); it != size_of.end()) xs.push_back(static_cast<double>(it->second));
    }
    st.sampled = xs.size();
    const double sum = std::accumulate(xs.begin(), xs.end(), 0.0);
    st.sampled_bytes = static_cast<uint64_t>(sum);
    all_sum += sum;
    by_type[st.data_type].first += sum;
    by_type[st.data_type].second += xs.size();
    if (!xs.empty()) {
      const double n = static_cast<double>(xs.size()), N = static_cast<double>(st.items);
      const double mean = sum / n;
      st.bytes = mean * N;
      if (xs.size() >= 2) {
        double ss = 0;
        for (double x : xs) ss += (x - mean) * (x - mean);
        const double sd = std::sqrt(ss / (n - 1));
        st.standard_error = N * sd / std::sqrt(n) * std::sqrt(std::max(0.0, 1 - n / N));
      }
    }
    e.strata.push_back(std::move(st));
  }
  double var = 0;
  bool any_se = false;
  for (auto& st : e.strata) {
    if (st.sampled == 0) {
      st.borrowed = true;
      e.any_borrowed = true;
      const auto& [tsum, tn] = by_type[st.data_type];
      const double mean = tn > 0 ? tsum / static_cast<double>(tn)
                                 : (sizes.empty() ? 0.0 : all_sum / static_cast<double>(sizes.size()));
      st.bytes = mean * static_cast<double>(st.items);
    }
    e.bytes += st.bytes;
    if (st.standard_error) {
      var += *st.standard_error * *st.standard_error;
      any_se = true;
    }
  }
  if (any_se) e.standard_error = std::sqrt(var);
  e.machine_hours = mb_per_second > 0 ? e.bytes / (mb_per_second * 1e6) / 3600.0 : 0;
  return e;
}

Result<uint64_t> DatasetSize(net::HttpClient* http, const std::string& url, const EstimateOptions& options,
                             bool* not_available, SizeProbe* probe) {
  *not_available = false;
  probe->unreachable = false;
  // Stops the body of a GET whose server ignored the range: the head is
  // all that is needed.
  struct HeadOnly : net::HttpBodySink {
    Status OnHead(const net::HttpResponseHead&) override { return Status::OK(); }
    Status OnBody(const char*, size_t) override { return Status::Cancelled("head read"); }
  } sink;
  net::Retrier retrier(options.retry, nullptr, StopFlags{options.cancel, nullptr}, net::RetrySeed(url));
  bool use_get = probe->head_refused;
  while (true) {
    if (options.cancel && options.cancel->load()) return Status::Cancelled("estimate interrupted");
    if (!retrier.MayAttempt()) return Status::Unavailable(url + ": no size after " +
                                                          std::to_string(retrier.attempts()) + " attempts");
    net::HttpRequest req = options.retry.Request(url, retrier.attempts(), options.cancel);
    req.method = use_get ? "GET" : "HEAD";
    req.headers.emplace_back("User-Agent", options.user_agent);
    if (!options.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + options.api_key);
    if (use_get) req.headers.emplace_back("Range", "bytes=0-0");
    retrier.Attempted();
    ++probe->requests;
    net::HttpResult r = http->Fetch(req, &sink);
    const int status = r.head.status;
    // A 200 to the ranged GET is cut by the sink: its transport error is ours.
    const bool cut_by_us = use_get && status == 200 && !r.sink_error.ok();
    if (!cut_by_us && net::IsTransient(r)) {
      const Status why = !r.transport.ok() ? r.transport
                                           : Status::Unavailable(url + ": HTTP " + std::to_string(status));
      if (retrier.Backoff(net::RetryAfter(r.head)) != net::Retrier::Next::kRetry) {
        if (options.cancel && options.cancel->load()) return Status::Cancelled("estimate interrupted");
        probe->unreachable = status == 0;
        return why;
      }
      continue;
    }
    if (!use_get && (status == 405 || status == 501)) {
      use_get = probe->head_refused = true;
      continue;
    }
    if (status == 404) {
      *not_available = true;
      return uint64_t{0};
    }
    auto number = [](const std::string& s) -> std::optional<uint64_t> {
      if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      return std::stoull(s);
    };
    if (status == 206) {
      const std::string cr = r.head.Header("content-range");  // bytes 0-0/SIZE
      const size_t slash = cr.rfind('/');
      if (auto n = slash == std::string::npos ? std::nullopt : number(cr.substr(slash + 1))) return *n;
      return Status::InvalidInput(url + ": 206 without a total in Content-Range '" + cr + "'");
    }
    if (status == 200) {
      if (auto n = number(r.head.Header("content-length"))) return *n;
      return Status::InvalidInput(url + ": no Content-Length in the answer to " + req.method);
    }
    if (status == 401 || status == 403) {
      return Status::Usage(url + ": HTTP " + std::to_string(status) +
                           " (TARDIS_API_KEY missing, or its plan does not cover this exchange and day)");
    }
    return Status::InvalidInput(url + ": HTTP " + std::to_string(status) + " to " + req.method);
  }
}

Result<PlanEstimate> EstimatePlan(const std::vector<WorkItem>& items, size_t derived_items,
                                  const EstimateOptions& options, net::HttpClient* http) {
  std::vector<SampledSize> sizes;
  size_t not_available = 0, failed = 0;
  std::vector<std::string> errors;
  Status first_error;
  SizeProbe probe;
  for (size_t i : ChooseSamples(items, options.max_requests)) {
    if (probe.requests >= options.max_requests) break;  // retries and a refused HEAD spent the budget
    bool na = false;
    auto n = DatasetSize(http, DatasetUrl(options.datasets_url, items[i]), options, &na, &probe);
    if (!n.ok()) {
      if (n.status().code() == Status::Code::kCancelled) return n.status();
      failed++;
      if (first_error.ok()) first_error = n.status();
      if (errors.size() < 3) errors.push_back(n.status().message());
      if (probe.unreachable) break;
      continue;
    }
    if (na) not_available++;
    sizes.push_back({i, *n});
  }
  if (sizes.empty() && !items.empty()) {
    return Status(first_error.code(), "estimate: no dataset size could be read: " + first_error.message());
  }
  PlanEstimate e = Extrapolate(items, sizes, derived_items, options.mb_per_second);
  e.requests = probe.requests;
  e.not_available = not_available;
  e.failed = failed;
  e.errors = std::move(errors);
  return e;
}

void PlanEstimate::WriteText(std::FILE* out) const {
  std::fprintf(out, "estimate: %s to download (%zu items, %zu sampled by %zu requests", FormatBytes(bytes).c_str(),
               items, samples, requests);
  if (standard_error) std::fprintf(out, "; +/- %s one standard error", FormatBytes(*standard_error).c_str());
  std::fputs(")\n", out);
  std::fprintf(out, "estimate: %zu objects to write", objects);
  if (derived_items) std::fprintf(out, " (%zu of them derived)", derived_items);
  if (grouped_items) std::fprintf(out, ", plus one per instrument inside %zu grouped files", grouped_items);
  std::fputs("\n", out);
  std::fprintf(out, "estimate: %.2f machine-hours at %g MB/s of compressed download per machine (ESTIMATE_MB_PER_SECOND)\n",
               machine_hours, mb_per_second);
  std::fprintf(out, "%-18s  %-22s  %8s  %7s  %14s\n", "exchange", "data_type", "items", "sampled", "expected");
  for (const auto& s : strata) {
    std::fprintf(out, "%-18s  %-22s  %8zu  %7zu  %14s%s\n", s.exchange.c_str(), s.data_type.c_str(), s.items,
                 s.sampled, FormatBytes(s.bytes).c_str(), s.borrowed ? "  (no sample: mean of its data type)" : "");
  }
  if (not_available) std::fprintf(out, "estimate: %zu sampled files do not exist (404), counted as 0 bytes\n", not_available);
  if (failed) {
    std::fprintf(out, "estimate: %zu samples failed and were left out:\n", failed);
    for (const auto& m : errors) std::fprintf(out, "  %s\n", m.c_str());
  }
}

std::string PlanEstimate::Json() const {
  nlohmann::json j;
  j["bytes"] = static_cast<uint64_t>(std::llround(bytes));
  j["standard_error_bytes"] =
      standard_error ? nlohmann::json(static_cast<uint64_t>(std::llround(*standard_error))) : nlohmann::json(nullptr);
  j["items"] = items;
  j["objects"] = objects;
  j["grouped_items"] = grouped_items;
  j["derived_items"] = derived_items;
  j["requests"] = requests;
  j["samples"] = samples;
  j["not_available"] = not_available;
  j["failed"] = failed;
  j["mb_per_second"] = mb_per_second;
  j["machine_hours"] = machine_hours;
  nlohmann::json st = nlohmann::json::array();
  for (const auto& s : strata) {
    st.push_back({{"exchange", s.exchange},
                  {"data_type", s.data_type},
                  {"items", s.items},
                  {"sampled", s.sampled},
                  {"sampled_bytes", s.sampled_bytes},
                  {"bytes", static_cast<uint64_t>(std::llround(s.bytes))},
                  {"borrowed", s.borrowed}});
  }
  j["strata"] = std::move(st);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mt::pipeline
