#include "cli/settings.h"

#include "cli/options.h"
#include "core/log.h"
#include "core/redact.h"
#include "pipeline/downloader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

namespace mt::cli {

Result<Date> DayFromFlag(const std::string& flag, const std::string& v) {
  const std::string example = " (YYYY-MM-DD, or YYYY-MM-DDT00:00:00Z: --from and --to name whole UTC days)";
  auto day = ParseDate(v.substr(0, 10));
  if (!day || (v.size() > 10 && v[10] != 'T' && v[10] != 't')) {
    return Status::Usage("--" + flag + " '" + v + "' is not a date" + example);
  }
  if (v.size() == 10) return *day;
  // The time: HH:MM[:SS[.fraction]] then Z or a numeric offset (RFC 3339,
  // ISO 8601 extended). Only midnight UTC names a day boundary.
  std::string rest = v.substr(11);
  size_t zone = rest.find_first_of("Zz+-");
  const std::string time = rest.substr(0, zone);
  const std::string offset = zone == std::string::npos ? "" : rest.substr(zone);
  static const std::regex kTime(R"(^([0-9]{2}):([0-9]{2})(:([0-9]{2})(\.[0-9]+)?)?$)");
  static const std::regex kOffset(R"(^([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$)");
  std::smatch m;
  if (!std::regex_match(time, m, kTime) || !std::regex_match(offset, kOffset)) {
    return Status::Usage("--" + flag + " '" + v + "' is not a date or an ISO 8601 date-time with a zone" + example);
  }
  const bool utc = offset == "Z" || offset == "z" || offset.find_first_not_of("+-0:") == std::string::npos;
  if (!utc || offset[0] == '-') {
    // -00:00 means "offset unknown" (RFC 3339 4.3), not UTC.
    return Status::Usage("--" + flag + " '" + v + "' has the offset " + offset +
                         ": days are UTC days, so give the UTC date, e.g. " + FormatDate(*day) + " or " +
                         FormatDate(*day) + "T00:00:00Z");
  }
  const std::string frac = m[5].str();
  const bool midnight = m[1] == "00" && m[2] == "00" && (!m[4].matched || m[4] == "00") &&
                        frac.find_first_not_of(".0") == std::string::npos;
  if (!midnight) {
    return Status::Usage("--" + flag + " '" + v + "' is not midnight UTC: --from and --to name whole UTC days (" +
                         (flag == "to" ? "--to is inclusive" : "--from is the first") + "), so give " +
                         FormatDate(*day) + " or " + FormatDate(*day) + "T00:00:00Z");
  }
  return *day;
}

Result<DateRange> DateRangeFromArgs(const ParsedArgs& args) {
  const std::string from = args.Get("from");
  if (from.empty()) return Status::Usage("--from YYYY-MM-DD is required");
  MT_ASSIGN_OR_RETURN(const Date f, DayFromFlag("from", from));
  MT_ASSIGN_OR_RETURN(const Date t, DayFromFlag("to", args.Get("to", from)));
  if (t < f) return Status::Usage("--to " + FormatDate(t) + " is before --from " + FormatDate(f));
  if (DaysFromCivil(t.year, t.month, t.day) - DaysFromCivil(f.year, f.month, f.day) > 366 * 20) {
    return Status::Usage("date range longer than 20 years");
  }
  // tardis-dev's to_date is exclusive: a user who copies one as --to gets
  // that day too. Said once, not an error (a day too many costs money, not data).
  if (args.Has("to") && args.Get("to").size() > 10) {
    log::Warn("--to " + args.Get("to") + " is inclusive: the whole UTC day " + FormatDate(t) +
              " is included (tardis-dev's to_date is exclusive; its equivalent here is --to " +
              FormatDate(AddDays(t, -1)) + ")");
  }
  return DateRange{f, t};
}

Status ListFlagsNotEmpty(const ParsedArgs& args, std::initializer_list<const char*> flags) {
  for (const char* flag : flags) {
    if (args.Has(flag) && pipeline::SplitList(args.Get(flag)).empty()) {
      return Status::Usage(std::string("--") + flag + " is empty ('" + args.Get(flag) +
                           "'): name what to select, or leave the flag out for its default");
    }
  }
  return Status::OK();
}

Result<pipeline::PlanRequest> PlanRequestFromArgs(const ParsedArgs& args, const Context& ctx) {
  pipeline::PlanRequest req;
  // A selection flag given empty (`--symbols "$SYMBOLS"` with SYMBOLS unset)
  // would mean its default: every instrument of the stored definitions, the
  // default venues, no filter. A fleet would download far more than asked
  // for, and pay for it, so it is a usage error; an empty variable in the
  // environment still counts as not set.
  MT_RETURN_IF_ERROR(ListFlagsNotEmpty(args, {"exchanges", "data-types", "symbols", "instrument-types", "base", "quote",
                                              "max-instruments", "max-days-to-expiry"}));
  MT_ASSIGN_OR_RETURN(const DateRange range, DateRangeFromArgs(args));
  req.from = range.from;
  req.to = range.to;
  req.exchanges = pipeline::SplitList(args.Value("exchanges", ctx.config));
  req.data_types = pipeline::SplitList(args.Value("data-types", ctx.config));
  req.symbols = pipeline::SplitList(args.Value("symbols", ctx.config));
  if (!req.symbols.empty()) {
    if (req.exchanges.empty()) {
      // The exchanges of the pins; an instrument key's is the one its
      // definitions give (its venue part is not always the exchange id:
      // OKX-SWAP is okex-swap), added when the plan resolves it.
      std::set<std::string> ex;
      for (const auto& s : req.symbols) {
        if (s.find(':') != std::string::npos && !pipeline::IsKeyForm(s)) ex.insert(s.substr(0, s.find(':')));
      }
      req.exchanges.assign(ex.begin(), ex.end());
      req.exchanges_from_symbols = true;
    }
    if (req.data_types.empty()) req.data_types = {"trades"};
  }
  MT_ASSIGN_OR_RETURN(req.instruments,
                      pipeline::ParseInstrumentFilter(
                          args.Value("instrument-types", ctx.config), args.Value("base", ctx.config),
                          args.Value("quote", ctx.config), args.Value("max-instruments", ctx.config),
                          args.Value("max-days-to-expiry", ctx.config)));
  return req;
}

Result<size_t> PositiveInt(const std::string& what, const std::string& v, size_t lo, size_t hi) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || v[0] == '-' || n < lo || n > hi) {
    return Status::Usage(what + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                         ", got '" + v + "'");
  }
  return static_cast<size_t>(n);
}

Result<double> PositiveDouble(const std::string& what, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(d >= 0)) return Status::Usage(what + " must be a number >= 0, got '" + v + "'");
  return d;
}

Result<size_t> ByteSize(const std::string& what, std::string v) {
  size_t shift = 0;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: break;
    }
  }
  if (shift) v.pop_back();
  MT_ASSIGN_OR_RETURN(size_t n, PositiveInt(what, v, 1, (size_t{1} << 50) >> shift));
  return n << shift;
}

std::vector<FlagSpec> EngineFlags() {
  return {
      {"compression", true, "zstd, snappy or none", "", "zstd"},
      {"zstd-level", true, "ZSTD level, 1-19 (at 3 or below, pages under 256 KiB use level 1)", "", "3"},
      {"batch-size", true, "rows per Parquet row group", "BATCH_SIZE", "1000000"},
      {"threads", true, "encoding threads (default: number of cores)"},
      {"encodings", true, "modern (delta, byte-stream-split) or plain (dictionary and PLAIN only)", "", "modern"},
      {"gzip-engine", true, "isal (when built with ISA-L) or zlib", "", "isal"},
  };
}

Result<EngineSettings> WriterSettingsFromArgs(const ParsedArgs& args, const Context& ctx) {
  EngineSettings s;
  auto& w = s.convert.writer;
  MT_ASSIGN_OR_RETURN(w.codec, parquet::ParseCodec(args.Value("compression", ctx.config)));
  MT_ASSIGN_OR_RETURN(size_t level, PositiveInt("--zstd-level", args.Value("zstd-level", ctx.config), 1, 19));
  w.zstd_level = static_cast<int>(level);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  MT_ASSIGN_OR_RETURN(size_t threads, PositiveInt("--threads", args.Get("threads", std::to_string(hw)), 1, 256));
  s.threads = static_cast<int>(threads);
  const std::string enc = args.Value("encodings", ctx.config);
  if (enc != "modern" && enc != "plain") return Status::Usage("--encodings must be modern or plain");
  w.encode.modern_encodings = enc == "modern";
  w.created_by = std::string("market-tick version ") + kVersion;
  s.convert.tool_version = kVersion;
  return s;
}

Result<EngineSettings> ConvertSettingsFromArgs(const ParsedArgs& args, const Context& ctx) {
  MT_ASSIGN_OR_RETURN(EngineSettings s, WriterSettingsFromArgs(args, ctx));
  const std::string batch = args.Value("batch-size", ctx.config);
  MT_ASSIGN_OR_RETURN(s.convert.parser.batch_rows, PositiveInt("--batch-size/BATCH_SIZE", batch, 1, 100'000'000));
  const std::string gz = args.Value("gzip-engine", ctx.config);
  if (gz == "zlib") {
    s.convert.gzip = io::GzipEngine::kZlib;
  } else if (gz == "isal") {
    s.convert.gzip = io::GzipEngine::kAuto;
  } else {
    return Status::Usage("--gzip-engine must be isal or zlib");
  }
  s.convert.parallel_parse = s.threads > 1;
  // --derive: the engine on a thread of its own beside the N of --threads
  // (bench/README.md "Derived data" has the measurements); --threads 1 keeps
  // everything on one thread.
  s.convert.observer_threads = s.threads > 1;
  return s;
}

Result<std::string> ApiKey(const Context& ctx) {
  std::string key, origin = "TARDIS_API_KEY";
  bool given = false;
  if (auto k = ctx.config.Get("TARDIS_API_KEY")) {
    key = *k;
    given = true;
  } else if (auto f = ctx.config.Get("TARDIS_API_KEY_FILE")) {
    given = true;
    origin = "the key in TARDIS_API_KEY_FILE " + *f;
    // A key is a few dozen bytes. Read a bounded amount with read(), which
    // reports a failure (a folder: reading it threw out of the iterator and
    // aborted the process), and never a file without end (/dev/zero).
    constexpr size_t kMaxKeyFileBytes = 64u << 10;
    struct stat st;
    if (::stat(f->c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::Usage("cannot read TARDIS_API_KEY_FILE " + *f +
                           ": it is a directory; point it at the file holding the key");
    }
    std::ifstream in(*f, std::ios::binary);
    if (!in) return Status::Usage("cannot read TARDIS_API_KEY_FILE " + *f);
    key.resize(kMaxKeyFileBytes + 1);
    in.read(key.data(), static_cast<std::streamsize>(key.size()));
    key.resize(static_cast<size_t>(in.gcount()));
    if (in.bad()) return Status::Usage("cannot read TARDIS_API_KEY_FILE " + *f);
    if (key.size() > kMaxKeyFileBytes) {
      return Status::Usage("TARDIS_API_KEY_FILE " + *f + " is longer than 64 KiB; it should hold the key alone");
    }
  }
  // Registered before any check, so that no error below can show it.
  RegisterSecret(key);
  const size_t b = key.find_first_not_of(" \t\r\n");
  key = b == std::string::npos ? "" : key.substr(b, key.find_last_not_of(" \t\r\n") - b + 1);
  RegisterSecret(key);
  // A key given blank (an empty file, a secret mount not filled in) would run
  // without one: the free days only, every other day a 401 (exit 1).
  if (given && key.empty()) {
    return Status::Usage(origin + " is blank: put the key there, or unset it to download the free days only");
  }
  for (unsigned char c : key) {
    if (c <= ' ' || c == 0x7f) {
      return Status::Usage(origin + " holds a space or control character inside the key; give the key alone");
    }
  }
  return key;
}

Result<net::RetryPolicy> RetryFromConfig(const Context& ctx) {
  net::RetryPolicy p;
  if (auto v = ctx.config.Get("RETRY_MAX_ATTEMPTS")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("RETRY_MAX_ATTEMPTS", *v, 1, 1000));
    p.max_attempts = static_cast<int>(n);
  }
  if (auto v = ctx.config.Get("RETRY_BASE_SECONDS")) { MT_ASSIGN_OR_RETURN(p.base_delay_s, PositiveDouble("RETRY_BASE_SECONDS", *v)); }
  if (auto v = ctx.config.Get("RETRY_MAX_DELAY_SECONDS")) { MT_ASSIGN_OR_RETURN(p.max_delay_s, PositiveDouble("RETRY_MAX_DELAY_SECONDS", *v)); }
  if (auto v = ctx.config.Get("RETRY_MAX_TOTAL_SECONDS")) { MT_ASSIGN_OR_RETURN(p.max_total_s, PositiveDouble("RETRY_MAX_TOTAL_SECONDS", *v)); }
  if (auto v = ctx.config.Get("STALL_TIMEOUT_SECONDS")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("STALL_TIMEOUT_SECONDS", *v, 1, 3600));
    p.stall_timeout_s = static_cast<int>(n);
  }
  if (auto v = ctx.config.Get("MIN_SPEED_BYTES_PER_SECOND")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("MIN_SPEED_BYTES_PER_SECOND", *v, 0, size_t{1} << 40));
    p.min_speed_bytes_per_s = n;
  }
  if (auto v = ctx.config.Get("MIN_SPEED_WINDOW_SECONDS")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("MIN_SPEED_WINDOW_SECONDS", *v, 1, 86400));
    p.min_speed_window_s = static_cast<int>(n);
  }
  return p;
}

}  // namespace mt::cli

namespace mt::cli {

Status ItemBoundsFromConfig(const Context& ctx, pipeline::DownloadOptions* opts) {
  if (auto v = ctx.config.Get("ITEM_TIMEOUT_HOURS")) {
    MT_ASSIGN_OR_RETURN(double h, PositiveDouble("ITEM_TIMEOUT_HOURS", *v));
    if (!(h > 0)) return Status::Usage("ITEM_TIMEOUT_HOURS must be more than 0, got '" + *v + "'");
    opts->item_timeout_s = h * 3600;
  }
  if (auto v = ctx.config.Get("ITEM_MAX_SIZE")) {
    MT_ASSIGN_OR_RETURN(opts->item_max_bytes, ByteSize("ITEM_MAX_SIZE", *v));
  }
  return Status::OK();
}

}  // namespace mt::cli

namespace mt::cli {

Status ApplyProcessSettings(const Context& ctx) {
  std::optional<int64_t> epoch;
  if (auto v = ctx.config.Get("SOURCE_DATE_EPOCH")) {
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || n < 0 || n > 253402300799) {  // up to 9999-12-31
      return Status::Usage("SOURCE_DATE_EPOCH must be a count of seconds since 1970-01-01 UTC, got '" + *v + "'");
    }
    epoch = n;
  }
  PinCreatedAt(epoch);
  return Status::OK();
}

}  // namespace mt::cli
