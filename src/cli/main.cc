// market-tick: Tardis.dev market data to analysis-ready Parquet.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/cancel.h"
#include "cli/settings.h"
#include "core/heap.h"
#include "core/log.h"
#include "net/http_client.h"

namespace mt::cli {

namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + static_cast<size_t>(a[i - 1] != b[j - 1])});
    }
    prev.swap(cur);
  }
  return prev[b.size()];
}

// --log-format's value (text when absent), read from the raw arguments so
// that the first error can already use it.
std::string LogFormatOf(const std::vector<std::string>& args) {
  std::string fmt = "text";
  for (size_t i = 1; i < args.size(); i++) {
    if (args[i] == "--") break;
    if (args[i] == "--log-format" && i + 1 < args.size()) fmt = args[++i];
    if (args[i].rfind("--log-format=", 0) == 0) fmt = args[i].substr(13);
  }
  return fmt;
}

void PrintMainHelp() {
  std::string out =
      "usage: market-tick COMMAND [flags]\n\n"
      "Turns Tardis.dev crypto market data into analysis-ready Parquet.\n\ncommands:\n";
  for (const auto& c : Commands()) {
    std::string name = std::string("  ") + c.name;
    name.resize(16, ' ');
    out += name + c.summary + "\n";
  }
  out += "\nglobal flags:\n" + FormatFlagHelp(GlobalFlags()) +
         "  --version               print the version\n"
         "\n'market-tick COMMAND --help' shows a command's flags.\n"
         "retries (environment or .env; every request: downloads, metadata, GCS): RETRY_MAX_ATTEMPTS (10),\n"
         "RETRY_BASE_SECONDS (1), RETRY_MAX_DELAY_SECONDS (60), RETRY_MAX_TOTAL_SECONDS (1800); a transfer is\n"
         "stalled after STALL_TIMEOUT_SECONDS (60) without a byte, or below MIN_SPEED_BYTES_PER_SECOND (1024; 0:\n"
         "off) on average over MIN_SPEED_WINDOW_SECONDS (60).\n"
         "exit codes: 0 done; 1 some items failed for good; 2 usage or configuration error (a rerun\n"
         "cannot fix it); 3 only transient failures (HTTP 429/5xx, timeouts, no answer): run again;\n"
         "130 interrupted.\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

}  // namespace mt::cli

int main(int argc, char** argv) {
  using namespace mt::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintMainHelp();
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("market-tick %s\n", kVersion);
    return kExitOk;
  }
  // Known before anything can fail, so every error of this run, a bad flag
  // included, comes out in the format asked for.
  const std::string fmt = LogFormatOf(args);
  mt::log::SetJson(fmt == "json");
  const Command* cmd = nullptr;
  for (const auto& c : Commands()) {
    if (args[0] == c.name) cmd = &c;
  }
  if (!cmd) {
    std::string best;
    size_t best_d = 3;
    for (const auto& c : Commands()) {
      const size_t d = EditDistance(args[0], c.name);
      if (d < best_d) {
        best_d = d;
        best = c.name;
      }
    }
    // A flag first (`market-tick --env-file F download ...`): the global
    // flags are the command's own, after it.
    if (args[0].rfind("-", 0) == 0) {
      return FailWith("", mt::Status::Usage("'" + args[0] +
                                            "' before the command: flags, the global ones too, go after it "
                                            "(market-tick COMMAND " +
                                            args[0] + " ...; see market-tick --help)"));
    }
    return FailWith("", mt::Status::Usage("unknown command '" + args[0] + "'" +
                                           (best.empty() ? "" : ", did you mean '" + best + "'?") +
                                           " (see market-tick --help)"));
  }
  if (fmt != "text" && fmt != "json") return FailWith(cmd->name, mt::Status::Usage("--log-format must be text or json"));
  auto parsed = ParseArgs(std::vector<std::string>(args.begin() + 1, args.end()), cmd->flags);
  if (!parsed.ok()) return FailWith(cmd->name, parsed.status());
  if (parsed->Has("help")) {
    std::printf("usage: market-tick %s %s\n\n%s\n\nflags:\n%s", cmd->name, cmd->usage, cmd->summary,
                FormatFlagHelp(cmd->flags).c_str());
    return kExitOk;
  }
  Context ctx;
  const bool env_required = parsed->Has("env-file");
  if (auto st = ctx.config.LoadEnvFile(parsed->Get("env-file", ".env"), env_required); !st.ok()) {
    return FailWith(cmd->name, st);
  }
  mt::log::Level level = mt::log::Level::kInfo;
  const std::string lvl = parsed->Get("log-level", ctx.config.GetOr("LOG_LEVEL", ""));
  if (!lvl.empty() && !mt::log::ParseLevel(lvl, &level)) {
    return FailWith(cmd->name, mt::Status::Usage("unknown log level '" + lvl + "' (debug, info, warning, error)"));
  }
  const std::string debug = ctx.config.GetOr("DEBUG", "");
  if (lvl.empty() && (debug == "1" || debug == "true")) level = mt::log::Level::kDebug;
  mt::log::SetLevel(level);
  if (auto st = ApplyProcessSettings(ctx); !st.ok()) return FailWith(cmd->name, st);
  // Headroom for many files in flight (a grouped file itself needs a few
  // descriptors whatever its instrument count; tests run it under ulimit -n 256).
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  mt::SetUpHeap();  // one arena that keeps what it frees, on huge pages
  const std::string name = cmd->name;
  if (name == "download" || name == "instruments" || name == "gcs") {
    if (const auto http = mt::net::LoadHttpLibrary(); !http.ok()) return FailWith(cmd->name, http);
  }
  mt::InstallCancelHandlers();  // SIGINT/SIGTERM set the one flag every loop polls
  // Their result lines come as the work goes on: a reader that goes away
  // stops the run as an interrupt (FlushResultLines) instead of killing it.
  // The others keep the default, so `gcs cat ... | head` ends quietly.
  if (name == "download" || name == "derive" || name == "convert") mt::IgnoreBrokenPipes();
  return cmd->run(*parsed, ctx);
}
