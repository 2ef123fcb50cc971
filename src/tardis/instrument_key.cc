#include "tardis/instrument_key.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/time_util.h"
#include "core/utf8.h"
#include "tardis/venues.h"

namespace mt::tardis {

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool AllAlnum(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Code points of the Basic Multilingual Plane that show nothing by
// themselves yet are no space or sign by their block: format characters
// (Arabic number signs, the Mongolian vowel separator and free variation
// selectors), combining marks of the general blocks (an accent or the
// grapheme joiner on whatever precedes it), Hangul and Khmer fillers, and
// the Ogham space. (The blocks of spaces, punctuation and symbols, and the
// planes past the BMP, are refused whole by IsCurrencyCode.)
bool IsInvisibleOrMark(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0600 && cp <= 0x0605) || cp == 0x06DD || cp == 0x070F ||
         cp == 0x0890 || cp == 0x0891 || cp == 0x08E2 || cp == 0x115F || cp == 0x1160 || cp == 0x1680 ||
         cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || cp == 0x3164 || cp == 0xFFA0;
}

// A currency code: ASCII letters and digits, or letters of another script
// (Binance lists 币安人生USDT). Beyond ASCII: well-formed UTF-8 of code points
// of the BMP past Latin-1's signs that are not unsafe to show
// (IsUnsafeCodePoint), not in the blocks of spaces, punctuation and symbols
// and not invisible by themselves (IsInvisibleOrMark); so no code holds a
// separator, a space, a line break, a formatting mark or a mark on nothing.
bool IsCurrencyCode(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (!std::isalnum(c)) return false;
      i++;
      continue;
    }
    const size_t len = Utf8SequenceLength(s.data() + i, s.size() - i);
    if (len == 0) return false;
    const uint32_t cp = DecodeUtf8(s.data() + i, len);
    const bool sign = cp < 0xC0 || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
                      (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE00 && cp <= 0xFE6F) ||
                      (cp >= 0xFF00 && cp <= 0xFF0F) || cp == 0xFEFF || cp >= 0xFFF0;
    if (sign || IsUnsafeCodePoint(cp) || IsInvisibleOrMark(cp)) return false;
    i += len;
  }
  return true;
}

// A strike as symbols write it: digits with at most one '.' inside.
bool IsPlainDecimal(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  size_t dots = 0;
  for (char c : s) {
    if (c == '.') {
      dots++;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots <= 1;
}

// An OKX product suffix: alphanumeric parts joined by '_' (UM, UM_XPERP).
bool IsProductSuffix(std::string_view s) {
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  for (char c : s) {
    if (c != '_' && !std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return s.find("__") == std::string_view::npos;
}

// Quote currencies recognised at the end of concatenated symbols, longest
// first so BTCUSDT is BTC-USDT, not BTCU-SDT... and USDTTRY is USDT-TRY;
// the dollar stablecoins before USD, so Gemini's BTCGUSD is BTC-GUSD.
constexpr std::array<std::string_view, 36> kQuotes = {
    "FDUSD", "PYUSD", "RLUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "GUSD", "BIDR", "IDRT", "USDS", "DAI", "USD",
    "BTC",   "ETH",  "BNB",  "EUR",  "TRY",  "GBP",  "BRL",  "AUD",  "JPY",  "RUB", "UAH",
    "NGN",   "ZAR",  "IDR",  "KRW",  "PLN",  "RON",  "ARS",  "MXN",  "XRP",  "TRX", "DOGE"};

// Stablecoins whose names end in USD and whose first letters a short base
// could end with: taken only after a base of three or more characters, so
// MOGUSD stays MOG-USD while BTCGUSD is BTC-GUSD.
bool NeedsLongBase(std::string_view q) { return q == "GUSD" || q == "PYUSD" || q == "RLUSD"; }

bool SplitConcatenated(std::string_view s, std::string* base, std::string* quote) {
  for (std::string_view q : kQuotes) {
    if (s.size() > q.size() && s.substr(s.size() - q.size()) == q) {
      if (NeedsLongBase(q) && s.size() - q.size() < 3) continue;
      *base = std::string(s.substr(0, s.size() - q.size()));
      *quote = std::string(q);
      return IsCurrencyCode(*base);
    }
  }
  return false;
}

// Deribit-style day-month-year: 9JUN20, 26JUN20 -> 200609, 200626.
bool ParseDayMonYear(std::string_view s, std::string* yymmdd) {
  static constexpr std::array<std::string_view, 12> kMon = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                             "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  if (s.size() < 6 || s.size() > 7) return false;
  const size_t dlen = s.size() - 5;
  const std::string_view day = s.substr(0, dlen), mon = s.substr(dlen, 3), yy = s.substr(dlen + 3);
  if (!AllDigits(day) || !AllDigits(yy)) return false;
  for (size_t m = 0; m < 12; m++) {
    if (kMon[m] == mon) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%.2s%02zu%02d", std::string(yy).c_str(), m + 1,
                    std::stoi(std::string(day)));
      *yymmdd = buf;
      return true;
    }
  }
  return false;
}

Status Unknown(std::string_view exchange, std::string_view symbol, const std::string& why) {
  // Both come from a file's rows: quoted escaped (a tab, a line break).
  return Status::InvalidInput("cannot derive an instrument key for symbol '" + EscapeOutsideText(symbol, 80) +
                              "' of exchange '" + EscapeOutsideText(exchange, 80) + "': " + why);
}

// "BTC" or "BTC_USDC" (Deribit's linear instruments name their quote).
void DeribitCurrencies(std::string_view part, InstrumentKey* k) {
  const size_t us = part.find('_');
  if (us == std::string_view::npos) {
    k->base = std::string(part);
    k->quote = "USD";
  } else {
    k->base = std::string(part.substr(0, us));
    k->quote = std::string(part.substr(us + 1));
  }
}

Result<InstrumentKey> Deribit(InstrumentKey k, std::string_view ex, const std::string& s) {
  const auto parts = Split(s, '-');
  // Currencies are letters and digits, as every form's are (the options'
  // below too): other text (a ':', '/', a control character, an empty side
  // of the '_') never becomes a key.
  auto plain = [&](const char* type) -> Result<InstrumentKey> {
    if (!AllAlnum(k.base) || !AllAlnum(k.quote)) return Unknown(ex, s, "currency is not plain (letters, digits)");
    k.type = type;
    return k;
  };
  if (parts.size() == 1 && s.find('_') != std::string::npos) {
    DeribitCurrencies(s, &k);
    return plain("SPOT_PAIR");
  }
  if (parts.size() == 2 && parts[1] == "PERPETUAL") {
    DeribitCurrencies(parts[0], &k);
    return plain("PERPETUAL");
  }
  if (parts.size() == 2 && ParseDayMonYear(parts[1], &k.expiry)) {
    DeribitCurrencies(parts[0], &k);
    return plain("FUTURE");
  }
  if (parts.size() == 4 && ParseDayMonYear(parts[1], &k.expiry) &&
      (parts[3] == "C" || parts[3] == "P")) {
    k.type = "OPTION";
    DeribitCurrencies(parts[0], &k);
    k.strike = parts[2];
    for (char& c : k.strike) {
      if (c == 'd' || c == 'D') c = '.';  // 0d625 = 0.625
    }
    if (!IsPlainDecimal(k.strike) || !AllAlnum(k.base) || !AllAlnum(k.quote)) {
      return Unknown(ex, s, "strike or currency is not plain (digits, letters)");
    }
    k.option_type = parts[3] == "C" ? "CALL" : "PUT";
    return k;
  }
  return Unknown(ex, s, "not a Deribit perpetual, future, option or spot symbol");
}

// OKX: BTC-USDT (spot), BTC-USDT-SWAP, BTC-USD-230929, BTC-USD-230929-30000-C,
// and BTC-USD_UM_XPERP-310404 (quote currency with a product suffix).
Result<InstrumentKey> Okx(InstrumentKey k, std::string_view ex, const std::string& s) {
  auto parts = Split(s, '-');
  // A product suffix on the quote (BTC-USD_UM-...): kept in the quote
  // (options, where BTC-USD-... and BTC-USD_UM-... are two live instruments
  // with the same terms, and futures), except the USDT-margined X-perp's,
  // which becomes the XPERP variant tag (BTC-USD-310404-XPERP).
  std::string product;
  if (parts.size() >= 2) {
    const size_t us = parts[1].find('_');
    if (us != std::string::npos) {
      product = parts[1].substr(us + 1);
      parts[1] = parts[1].substr(0, us);
    }
  }
  if (parts.size() < 2 || !AllAlnum(parts[0]) || !AllAlnum(parts[1])) {
    return Unknown(ex, s, "expected BASE-QUOTE[-SWAP|-YYMMDD[-STRIKE-C|P]]");
  }
  k.base = parts[0];
  k.quote = parts[1];
  if (parts.size() == 2) {
    // Only OKX spot pairs have two parts: a swap's symbol ends in -SWAP, so
    // BTC-USDT on okex-swap is a misspelling that no file of the venue has.
    if (ex == "okex-swap") return Unknown(ex, s, "a swap symbol ends in -SWAP (BTC-USDT-SWAP)");
    if (ex == "okex-futures" || ex == "okex-options") return Unknown(ex, s, "no expiry in symbol");
    k.type = "SPOT_PAIR";
    return k;
  }
  if (parts.size() == 3 && parts[2] == "SWAP") {
    k.type = "PERPETUAL";
    return k;
  }
  if (parts.size() == 3 && parts[2].size() == 6 && AllDigits(parts[2])) {
    k.type = "FUTURE";
    k.expiry = parts[2];
    // The USDT-margined X-perp (linear_xperp) pays funding, unlike the plain
    // future of the same terms: the grammar's variant tag says so
    // (BTC-USD-310404-XPERP), as for X-perps of other venues. Any other
    // product keeps its suffix, so two products with the same terms never
    // share a key.
    if (product == "UM_XPERP") {
      k.variant = "XPERP";
    } else if (!product.empty()) {
      if (!IsProductSuffix(product)) return Unknown(ex, s, "product suffix '_" + product + "' is not alphanumeric");
      k.quote += "_" + product;
    }
    return k;
  }
  if (parts.size() == 5 && parts[2].size() == 6 && AllDigits(parts[2]) &&
      (parts[4] == "C" || parts[4] == "P")) {
    k.type = "OPTION";
    k.expiry = parts[2];
    k.strike = parts[3];
    k.option_type = parts[4] == "C" ? "CALL" : "PUT";
    if (!IsPlainDecimal(k.strike)) return Unknown(ex, s, "strike '" + k.strike + "' is not a number");
    if (!product.empty()) {
      if (!AllAlnum(product)) return Unknown(ex, s, "product suffix '_" + product + "' is not alphanumeric");
      k.quote += "_" + product;
    }
    return k;
  }
  return Unknown(ex, s, "expected BASE-QUOTE[-SWAP|-YYMMDD[-STRIKE-C|P]]");
}

// Binance USD-M / COIN-M and Bybit: BTCUSDT, BTCUSDT_230929, BTCUSD_PERP.
Result<InstrumentKey> Concatenated(InstrumentKey k, std::string_view ex, const std::string& s,
                                   const std::string& default_type) {
  std::string sym = s, suffix;
  const size_t us = s.find('_');
  if (us != std::string::npos) {
    sym = s.substr(0, us);
    suffix = s.substr(us + 1);
  }
  if (!SplitConcatenated(sym, &k.base, &k.quote)) {
    return Unknown(ex, s, "no known quote currency at the end of '" + sym + "'");
  }
  if (suffix.empty()) {
    k.type = default_type;
  } else if (suffix == "PERP") {
    k.type = "PERPETUAL";
  } else if (suffix.size() == 6 && AllDigits(suffix)) {
    k.type = "FUTURE";
    k.expiry = suffix;
  } else {
    return Unknown(ex, s, "unknown contract suffix '_" + suffix + "'");
  }
  return k;
}

// Bybit derivatives: BTCUSDT and BTCUSD (perpetuals), BTCPERP (the USDC
// perpetual), BTCUSDH23 (inverse futures named by month code and year; the
// expiry day is not in the symbol, so it needs metadata).
Result<InstrumentKey> Bybit(InstrumentKey k, std::string_view ex, const std::string& s) {
  if (s.size() > 4 && s.compare(s.size() - 4, 4, "PERP") == 0 && AllAlnum(s.substr(0, s.size() - 4))) {
    k.type = "PERPETUAL";
    k.base = s.substr(0, s.size() - 4);
    k.quote = "USDC";
    return k;
  }
  if (s.size() > 6 && std::strchr("FGHJKMNQUVXZ", s[s.size() - 3]) != nullptr &&
      std::isdigit(static_cast<unsigned char>(s[s.size() - 2])) &&
      std::isdigit(static_cast<unsigned char>(s[s.size() - 1]))) {
    std::string base, quote;
    if (SplitConcatenated(s.substr(0, s.size() - 3), &base, &quote)) {
      return Unknown(ex, s, "a Bybit dated future (month code '" + s.substr(s.size() - 3) +
                                "'); its expiry day needs instrument metadata");
    }
  }
  return Concatenated(k, ex, s, "PERPETUAL");
}

// Two alphanumeric parts joined by '-' (BASE-QUOTE, or QUOTE-BASE where
// quote_first) as a key of TYPE; else an error naming the symbol as SHOWN.
// A '/' or ':' joins them too: the rows of some venues spell the pair as the
// exchange does (Kraken XBT/USD), while the dataset symbol, which download
// keys, spells it as the official clients do (XBT-USD); both give one key.
Result<InstrumentKey> Dashed(InstrumentKey k, std::string_view ex, std::string_view shown, const std::string& s_in,
                             const char* type, bool quote_first = false) {
  std::string s = s_in;
  std::replace(s.begin(), s.end(), '/', '-');
  std::replace(s.begin(), s.end(), ':', '-');
  const auto parts = Split(s, '-');
  if (parts.size() == 2 && AllAlnum(parts[0]) && AllAlnum(parts[1])) {
    k.type = type;
    k.base = parts[quote_first ? 1 : 0];
    k.quote = parts[quote_first ? 0 : 1];
    return k;
  }
  return Unknown(ex, shown, quote_first ? "expected QUOTE-BASE" : "expected BASE-QUOTE");
}

// The pair of a venue that lists spot pairs only, the type being known:
// BASE-QUOTE (coinbase, kucoin), BASE/QUOTE or BASE:QUOTE (Dashed), and as
// the venue writes it: BASE_QUOTE on gate-io (BTC_USDT), the two run
// together on bitstamp, gemini, bitfinex (BTCUSD) and huobi (BTCUSDT), split
// at the longest known quote as on Binance (ConfirmedSplit corrects it from
// the listing). Only the venue's own spelling, so a bare symbol pairs only
// with the venues that write it that way.
Result<InstrumentKey> DashedSpot(const InstrumentKey& k, std::string_view ex, const std::string& s) {
  std::string t = s;
  if (ex == "gate-io") std::replace(t.begin(), t.end(), '_', '-');
  const bool run_together = ex == "bitstamp" || ex == "gemini" || ex == "bitfinex" || ex == "huobi";
  if (run_together && t.find_first_of("-/:") == std::string::npos) {
    InstrumentKey c = k;
    if (SplitConcatenated(t, &c.base, &c.quote)) {
      c.type = "SPOT_PAIR";
      return c;
    }
    return Unknown(ex, s, "expected BASE-QUOTE, or a base and a known quote currency run together (BTCUSD)");
  }
  return Dashed(k, ex, s, t, "SPOT_PAIR");
}

// A metadata currency as keys write it: upper case, and a product suffix
// after '_' dropped (okex-futures XPERP quote USD_UM_XPERP -> USD).
std::string KeyCurrency(std::string_view c) {
  std::string out = AsciiUpper(c.substr(0, c.find('_')));
  return IsCurrencyCode(out) ? out : std::string();
}

// The code keys give a currency a venue calls by a name of its own: the
// code of its instrument definitions (Tardis /v1/instruments gives Kraken's
// XBT/USD the base currency BTC). Applied to the venue's symbols and to its
// definitions alike, so an instrument has one key with or without
// definitions in the store, whichever of the two names the definitions use.
// Kraken's pairs (XBT/USD, dataset symbol XBT-USD) name bitcoin XBT and
// dogecoin XDG. (BitMEX's XBT is read by its symbol rule: only its
// perpetuals have a rule, and those start with the base.)
std::string VenueCurrency(std::string_view ex, std::string code) {
  if (ex == "kraken") {
    if (code == "XBT") return "BTC";
    if (code == "XDG") return "DOGE";
  }
  return code;
}

}  // namespace

std::string InstrumentKey::Symbol() const {
  if (type == "COMBO" || type == "PREDICTION") return native;
  std::string s = base + "-" + quote;
  if (!expiry.empty()) s += "-" + expiry;
  if (!strike.empty()) s += "-" + strike;
  if (!option_type.empty()) s += "-" + option_type;
  if (!variant.empty()) s += "-" + variant;
  return s;
}

namespace {
constexpr std::array<std::string_view, 12> kVariants = {"MOVE", "MOVEWK", "MOVEQ",  "TURBO",   "XPERP",
                                                        "IXPERP", "IRS", "REPO", "INDEX", "SPREAD", "INVERSE",
                                                        "LINEAR"};
}  // namespace

bool IsKeyVariant(std::string_view tag) {
  return std::find(kVariants.begin(), kVariants.end(), tag) != kVariants.end();
}

std::string VariantForContractType(std::string_view exchange, std::string_view symbol,
                                   std::string_view contract_type, std::string_view expiration_type) {
  // OKX's USDT-margined X-perp names itself in the symbol
  // (BTC-USD_UM_XPERP-310404): the same tag as the symbol rule gives (Okx
  // above), with or without a contractType in the metadata.
  if (exchange.rfind("okex", 0) == 0 && AsciiUpper(symbol).find("_UM_XPERP-") != std::string::npos) return "XPERP";
  if (contract_type == "move") {
    // FTX lists daily, weekly (BTC-MOVE-WK-0326) and quarterly
    // (BTC-MOVE-2021Q1) MOVE contracts; two of them can expire at one time.
    const std::string sym = AsciiUpper(symbol);
    if (expiration_type == "weekly" || expiration_type == "next_week" || sym.find("-WK-") != std::string::npos) {
      return "MOVEWK";
    }
    const bool quarter_symbol = sym.size() >= 2 && sym[sym.size() - 2] == 'Q' &&
                                std::isdigit(static_cast<unsigned char>(sym.back()));
    if (expiration_type == "quarter" || expiration_type == "next_quarter" || quarter_symbol) return "MOVEQ";
    return "MOVE";
  }
  if (contract_type == "turbo_call_option" || contract_type == "turbo_put_option") return "TURBO";
  if (contract_type == "linear_xperp" || contract_type == "inverse_xperp") {
    // Another OKX product with a suffix (BTC-USD_CM_XPERP-310404) keeps it
    // in the key's quote, which already keeps it apart (Okx above).
    const size_t dash = symbol.find('-');
    if (exchange.rfind("okex", 0) == 0 && dash != std::string_view::npos &&
        symbol.find('_', dash) != std::string_view::npos) {
      return "";
    }
    return contract_type == "linear_xperp" ? "XPERP" : "IXPERP";
  }
  if (contract_type == "interest_rate_swap") return "IRS";
  if (contract_type == "repo") return "REPO";
  if (contract_type == "index") return "INDEX";
  if (contract_type == "spread") return "SPREAD";
  return "";
}

Result<InstrumentKey> NativeKey(std::string_view exchange, std::string_view symbol, std::string_view key_type) {
  const std::string s = AsciiUpper(symbol);
  if (s.empty() || s.size() > 160) return Unknown(exchange, symbol, "a venue symbol of 1-160 characters is needed");
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return Unknown(exchange, symbol,
                     "a " + AsciiUpper(key_type) + " key is the venue's symbol, which may hold only A-Z, 0-9, '.', '_' "
                     "and '-'");
    }
  }
  if (IsGroupedSymbol(s)) return Unknown(exchange, symbol, "a grouped file symbol, not an instrument");
  InstrumentKey k;
  k.venue = VenueForExchange(exchange);
  k.type = std::string(key_type);
  k.native = s;
  return k;
}

std::string ChainKey(const InstrumentKey& option) {
  return option.venue + ":OPTIONS:" + option.base + "-" + option.quote;
}

std::string InstrumentKey::ToString() const { return venue + ":" + type + ":" + Symbol(); }

std::string VenueForExchange(std::string_view exchange) {
  if (exchange == "okex") return "OKX";
  if (exchange.rfind("okex-", 0) == 0) return "OKX-" + AsciiUpper(exchange.substr(5));
  return AsciiUpper(exchange);
}

bool IsGroupedSymbol(std::string_view s) {
  return s == "OPTIONS" || s == "PERPETUALS" || s == "FUTURES" || s == "SPOT" || s == "COMBOS";
}

Result<InstrumentKey> KeyFromTardisSymbol(std::string_view exchange, std::string_view symbol_in) {
  const std::string s = AsciiUpper(symbol_in);
  if (s.empty()) return Unknown(exchange, symbol_in, "empty symbol");
  if (IsGroupedSymbol(s)) {
    return Unknown(exchange, symbol_in, "a grouped file symbol, not an instrument");
  }
  InstrumentKey k;
  k.venue = VenueForExchange(exchange);
  const std::string ex(exchange);
  if (ex == "deribit") return Deribit(k, exchange, s);
  if (ex.rfind("okex", 0) == 0) return Okx(k, exchange, s);
  if (ex == "binance-futures") return Concatenated(k, exchange, s, "PERPETUAL");
  if (ex == "bybit") return Bybit(k, exchange, s);
  if (ex == "binance-delivery") return Concatenated(k, exchange, s, "FUTURE");
  if (ex == "bitmex") {
    static const char kNeedsMetadata[] =
        "needs the instrument metadata: run `market-tick instruments` for that day into the output store first, "
        "so keys come from the instrument definitions, or convert to one file with --output FILE.parquet";
    std::string sym = s;
    if (sym.rfind("XBT", 0) == 0) sym = "BTC" + sym.substr(3);  // BitMEX calls bitcoin XBT
    if (sym.size() >= 3 && std::isdigit(static_cast<unsigned char>(sym.back())) &&
        std::isdigit(static_cast<unsigned char>(sym[sym.size() - 2]))) {
      return Unknown(exchange, symbol_in, std::string("a BitMEX dated future; its expiry day ") + kNeedsMetadata);
    }
    auto perpetual = Concatenated(k, exchange, sym, "PERPETUAL");
    if (perpetual.ok()) return perpetual;
    // Named as given (the message of Concatenated names the symbol with XBT
    // rewritten): spot pairs (XBT_USDT) and other contracts are told apart
    // by the metadata only.
    return Unknown(exchange, symbol_in,
                   std::string("the BitMEX symbol rule reads perpetuals (BASEQUOTE) only; any other type ") +
                       kNeedsMetadata);
  }
  if (ex == "huobi-dm-swap" || ex == "huobi-dm-linear-swap") return Dashed(k, exchange, symbol_in, s, "PERPETUAL");
  // Upbit writes the quote first: KRW-BTC is BTC priced in KRW.
  if (ex == "upbit") return Dashed(k, exchange, symbol_in, s, "SPOT_PAIR", /*quote_first=*/true);
  if (ex == "binance-european-options" || ex == "binance-options") {
    // BTC-240329-70000-C: USDT-margined European options (quote USDT).
    const auto parts = Split(s, '-');
    if (parts.size() == 4 && AllAlnum(parts[0]) && parts[1].size() == 6 && AllDigits(parts[1]) &&
        IsPlainDecimal(parts[2]) && (parts[3] == "C" || parts[3] == "P")) {
      k.type = "OPTION";
      k.base = parts[0];
      k.quote = "USDT";
      k.expiry = parts[1];
      k.strike = parts[2];
      k.option_type = parts[3] == "C" ? "CALL" : "PUT";
      return k;
    }
    return Unknown(exchange, symbol_in, "expected BASE-YYMMDD-STRIKE-C|P");
  }
  if (ex == "bybit-options") {
    // BTC-29MAR24-70000-C (USDC-settled) and BTC-29MAR24-70000-C-USDT.
    const auto parts = Split(s, '-');
    if ((parts.size() == 4 || (parts.size() == 5 && AllAlnum(parts[4]))) && AllAlnum(parts[0]) &&
        ParseDayMonYear(parts[1], &k.expiry) && IsPlainDecimal(parts[2]) && (parts[3] == "C" || parts[3] == "P")) {
      k.type = "OPTION";
      k.base = parts[0];
      k.quote = parts.size() == 5 ? parts[4] : "USDC";
      k.strike = parts[2];
      k.option_type = parts[3] == "C" ? "CALL" : "PUT";
      return k;
    }
    return Unknown(exchange, symbol_in, "expected BASE-DDMMMYY-STRIKE-C|P[-SETTLE]");
  }
  if (ex == "binance" || ex == "binance-us" || ex == "bybit-spot") {
    return Concatenated(k, exchange, s, "SPOT_PAIR");
  }
  if (IsSpotOnlyExchange(ex)) {
    auto spot = DashedSpot(k, exchange, s);
    if (spot.ok()) {
      spot->base = VenueCurrency(ex, std::move(spot->base));
      spot->quote = VenueCurrency(ex, std::move(spot->quote));
    }
    return spot;
  }
  // Any other venue lists spot pairs, perpetuals and futures under symbols
  // of one shape (dydx BTC-USD is a perpetual, ftx BTC-PERP too): the type
  // would be a guess.
  return Unknown(exchange, symbol_in,
                 "the instrument type cannot be read from the symbol on this exchange (no symbol rule); "
                 "run `market-tick instruments` for that day into the output store first, so keys come "
                 "from the instrument definitions, or convert to one file with --output FILE.parquet");
}

bool IsSpotOnlyExchange(std::string_view exchange) {
  const Venue* v = FindVenue(exchange);
  return v && v->spot_only;
}

bool IsUnkeyedKey(std::string_view key) {
  const size_t a = key.find(':');
  return a != std::string_view::npos && key.substr(a + 1, 8) == "UNKEYED:";
}

bool HasSymbolRule(std::string_view ex) {
  if (const Venue* v = FindVenue(ex)) return v->symbol_rule;
  // KeyFromTardisSymbol reads every okex* id with the OKX rule, one Tardis
  // does not list yet too.
  return ex.rfind("okex", 0) == 0;
}

Result<InstrumentKey> KeyFromListedSymbol(std::string_view exchange, std::string_view symbol,
                                          std::string_view listed_type) {
  // Combos and prediction markets are named by the venue's symbol alone, on
  // every venue: their legs or their market are not base and quote.
  if (!IsGroupedSymbol(AsciiUpper(symbol))) {
    if (listed_type == "combo") return NativeKey(exchange, symbol, "COMBO");
    if (listed_type == "prediction") return NativeKey(exchange, symbol, "PREDICTION");
  }
  if (HasSymbolRule(exchange) || IsGroupedSymbol(AsciiUpper(symbol))) return KeyFromTardisSymbol(exchange, symbol);
  // The listing says spot: a plain BASE-QUOTE symbol is then a spot pair on
  // any venue, and so is BASE_QUOTE (crypto-com's BTC_USDT; gate-io spells
  // it so too): with the type known, one '_' between two plain parts can
  // only join base and quote. Any other type needs the metadata's base and
  // quote.
  if (listed_type == "spot") {
    InstrumentKey spot;
    spot.venue = VenueForExchange(exchange);
    std::string sym = AsciiUpper(symbol);
    if (sym.find_first_of("-/:") == std::string::npos && std::count(sym.begin(), sym.end(), '_') == 1) {
      std::replace(sym.begin(), sym.end(), '_', '-');
      auto k = Dashed(spot, exchange, symbol, sym, "SPOT_PAIR");
      if (k.ok()) return k;
    }
    return DashedSpot(spot, exchange, AsciiUpper(symbol));
  }
  return Unknown(exchange, symbol,
                 "Tardis lists it as type '" + std::string(listed_type) +
                     "', and this exchange's symbols do not say base, quote and type; its key needs instrument "
                     "metadata (set TARDIS_API_KEY)");
}

std::optional<InstrumentKey> ConfirmedSplit(const InstrumentKey& rule_key, std::string_view symbol,
                                            const std::function<bool(const std::string&)>& known) {
  const std::string sym = AsciiUpper(symbol);
  if (rule_key.type != "SPOT_PAIR" || rule_key.base + rule_key.quote != sym) return std::nullopt;
  if (known(rule_key.base) && known(rule_key.quote)) return std::nullopt;
  // Only a longer quote than the rule's, ending in it (BTCA|EUR -> BTC|AEUR):
  // the rule errs by taking too short a quote. A shorter quote is not a
  // quote the rule knows (SUSDT is S-USDT, never SUSD-T, though the listing
  // names SUSD and T).
  std::optional<InstrumentKey> found;
  for (size_t i = 1; i < rule_key.base.size(); i++) {
    const std::string base = sym.substr(0, i), quote = sym.substr(i);
    if (!AllAlnum(base) || !AllAlnum(quote) || !known(base) || !known(quote)) continue;
    if (found) return std::nullopt;  // two confirmed splits: no basis to choose
    found = rule_key;
    found->base = base;
    found->quote = quote;
  }
  return found;
}

std::string KeyTypeForTardisType(std::string_view type) {
  if (type == "spot") return "SPOT_PAIR";
  if (type == "perpetual") return "PERPETUAL";
  if (type == "future") return "FUTURE";
  if (type == "option") return "OPTION";
  if (type == "combo") return "COMBO";
  if (type == "prediction") return "PREDICTION";
  return "";
}

std::string FormatStrike(double strike) {
  char buf[64];
  for (int digits = 0; digits <= 12; digits++) {
    std::snprintf(buf, sizeof buf, "%.*f", digits, strike);
    if (std::strtod(buf, nullptr) == strike) return buf;
  }
  std::string s = buf;  // 12 decimals: trim the zeros a binary fraction leaves
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Result<InstrumentKey> KeyFromMetadata(std::string_view exchange, std::string_view symbol,
                                      const SymbolFacts& facts) {
  InstrumentKey k;
  k.venue = VenueForExchange(exchange);
  k.type = KeyTypeForTardisType(facts.type);
  if (k.type.empty()) {
    return Unknown(exchange, symbol,
                   "Tardis type '" + facts.type +
                       "' has no key type (keys know spot, perpetual, future, option, combo, prediction)");
  }
  if (k.type == "COMBO" || k.type == "PREDICTION") return NativeKey(exchange, symbol, k.type);
  k.base = VenueCurrency(exchange, KeyCurrency(facts.base));
  k.quote = VenueCurrency(exchange, KeyCurrency(facts.quote));
  if (k.base.empty() || k.quote.empty()) {
    return Unknown(exchange, symbol,
                   "instrument metadata has no usable baseCurrency/quoteCurrency ('" + facts.base + "', '" +
                       facts.quote + "')");
  }
  if (k.type == "OPTION" && k.quote == k.base) {
    // Premium in the coin itself: the key names the strike currency instead.
    auto from_symbol = KeyFromTardisSymbol(exchange, symbol);
    if (!from_symbol.ok() || from_symbol->type != "OPTION" || from_symbol->base != k.base) {
      return Unknown(exchange, symbol,
                     "an option quoted in its base currency " + k.base +
                         ", and the strike currency cannot be read from the symbol");
    }
    k.quote = from_symbol->quote;
  }
  if ((k.type == "OPTION" || k.type == "FUTURE") && k.quote.find('_') == std::string::npos) {
    // A product suffix the symbol rule keeps (OKX BTC-USD_UM-...) stays in
    // the key whichever way it is made, so both instruments keep their own.
    auto from_symbol = KeyFromTardisSymbol(exchange, symbol);
    if (from_symbol.ok() && from_symbol->type == k.type && from_symbol->quote.rfind(k.quote + "_", 0) == 0) {
      k.quote = from_symbol->quote;
    }
  }
  k.variant = VariantForContractType(exchange, symbol, facts.contract_type, facts.expiration_type);
  if (k.type == "FUTURE" || k.type == "OPTION") {
    if (!facts.expiry_us) return Unknown(exchange, symbol, "instrument metadata has no expiry for a " + facts.type);
    const Date d = DateFromMicros(*facts.expiry_us);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d%02d%02d", d.year % 100, d.month, d.day);
    k.expiry = buf;
  }
  if (k.type == "OPTION") {
    if (!facts.strike || !std::isfinite(*facts.strike) || *facts.strike <= 0) {
      return Unknown(exchange, symbol, "instrument metadata has no positive strikePrice for an option");
    }
    k.strike = FormatStrike(*facts.strike);
    const std::string ot = AsciiUpper(facts.option_type);
    if (ot != "CALL" && ot != "PUT") {
      return Unknown(exchange, symbol, "instrument metadata optionType '" + facts.option_type + "' is not call or put");
    }
    k.option_type = ot;
  }
  return k;
}

Result<InstrumentKey> ParseInstrumentKey(std::string_view key) {
  const auto parts = Split(key, ':');
  if (parts.size() != 3) return Status::InvalidInput("instrument key '" + std::string(key) + "' is not VENUE:TYPE:SYMBOL");
  InstrumentKey k;
  k.venue = parts[0];
  k.type = parts[1];
  if (k.type == "COMBO" || k.type == "PREDICTION") {
    auto native = NativeKey(k.venue, parts[2], k.type);
    if (!native.ok() || native->native != parts[2]) {
      return Status::InvalidInput("instrument key '" + std::string(key) + "' has a malformed symbol");
    }
    native->venue = k.venue;
    return native;
  }
  auto sym = Split(parts[2], '-');
  const size_t need = k.type == "OPTION" ? 5 : k.type == "FUTURE" ? 3 : 2;
  // One more part is a variant tag (FTX:FUTURE:BTC-USD-210326-MOVE).
  if (sym.size() == need + 1 && k.type != "SPOT_PAIR" && k.type != "OPTIONS" && IsKeyVariant(sym.back())) {
    k.variant = sym.back();
    sym.pop_back();
  }
  if (sym.size() != need || (k.type != "SPOT_PAIR" && k.type != "PERPETUAL" && k.type != "FUTURE" &&
                             k.type != "OPTION" && k.type != "OPTIONS")) {
    return Status::InvalidInput("instrument key '" + std::string(key) + "' has a malformed symbol");
  }
  k.base = sym[0];
  k.quote = sym[1];
  if (need >= 3) k.expiry = sym[2];
  if (need == 5) {
    k.strike = sym[3];
    k.option_type = sym[4];
  }
  return k;
}

}  // namespace mt::tardis
