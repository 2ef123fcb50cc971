// The command table: {name, summary, handler}; help text comes from it.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/exit_code.h"  // kExit*, ExitCodeFor: the one Status -> exit code mapping
#include "core/spilled_blobs.h"
#include "core/status.h"

namespace mt::cli {

// The exit codes live in core/exit_code.h; named here too, so code that says
// mt::cli::kExitOk (or `using namespace mt::cli`) keeps working.
using mt::ExitCode;
using mt::ExitCodeFor;
using mt::kExitFailed;
using mt::kExitInterrupted;
using mt::kExitOk;
using mt::kExitRetryable;
using mt::kExitUsage;

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

// Reports a command's failure on stderr ("market-tick COMMAND: message", or
// a JSON log line with --log-format json), with secrets redacted, and
// returns ExitCodeFor(status). Every command ends a failed run through it;
// "" names no command (an error before one is known).
int FailWith(const std::string& command, const Status& status);

// Flushes stdout after a command's result lines. When its reader went away
// (a closed pipe: `| head`, a log shipper that died), the run stops as an
// interrupted one (exit 130, temporaries removed), said once on stderr: the
// lines it exists to give can no longer be read, and a run killed by SIGPIPE
// (ignored for these commands, see IgnoreBrokenPipes) left temporaries and an
// exit code outside the contract.
void FlushResultLines();

// Prints `text` (instruments --format's, made whole in a temporary file)
// to `out` a piece of a MiB at a time: the text may be far larger than
// memory. `cancelled` is asked before each piece; once it says so the
// printing stops (kCancelled, said on stderr) and a regular file `out`
// writes to is cut back to where it stood before the text, so no part of
// it is left there (a pipe or terminal cannot be, nor a file the text was
// written over rather than appended to: what it held past the text's bytes
// would go too, nor one another writer appended to meanwhile: its bytes
// follow the text's). A write that fails (a
// full disk, a reader gone) is an IOError: the text is incomplete.
Status PrintSpilledText(const SpilledBlobs& text, std::FILE* out, const std::function<bool()>& cancelled);

int RunConvert(const ParsedArgs& args, Context& ctx);
int RunDownload(const ParsedArgs& args, Context& ctx);
int RunDerive(const ParsedArgs& args, Context& ctx);
int RunInstruments(const ParsedArgs& args, Context& ctx);
int RunPlan(const ParsedArgs& args, Context& ctx);
int RunSchemas(const ParsedArgs& args, Context& ctx);
int RunValidate(const ParsedArgs& args, Context& ctx);
int RunGcs(const ParsedArgs& args, Context& ctx);
int RunSql(const ParsedArgs& args, Context& ctx);

// Whether SIGINT/SIGTERM arrived: the process's cancel flag (core/cancel.h).
inline bool Interrupted() { return CancelRequested(); }

extern const char* const kVersion;

}  // namespace mt::cli
