// The command table: {name, summary, handler}; help text comes from it.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "core/config.h"

namespace mt::cli {

// Exit codes of DESIGN §2.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,
  kExitUsage = 2,
  kExitRetryable = 3,
  kExitInterrupted = 130,
};

struct Context {
  Config config;
};

struct Command {
  const char* name;
  const char* summary;
  const char* usage;
  std::vector<FlagSpec> flags;
  int (*run)(const ParsedArgs& args, Context& ctx);
};

const std::vector<Command>& Commands();

int RunConvert(const ParsedArgs& args, Context& ctx);
int RunDownload(const ParsedArgs& args, Context& ctx);
int RunInstruments(const ParsedArgs& args, Context& ctx);
int RunPlan(const ParsedArgs& args, Context& ctx);
int RunSchemas(const ParsedArgs& args, Context& ctx);
int RunValidate(const ParsedArgs& args, Context& ctx);
int RunGcs(const ParsedArgs& args, Context& ctx);
std::string SchemasMarkdown();

// Set by SIGINT/SIGTERM; long loops poll it.
bool Interrupted();
void InstallSignalHandlers();

extern const char* const kVersion;

}  // namespace mt::cli
