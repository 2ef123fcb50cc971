// Command-line flags parsed into a map before any I/O (ninja style): every
// command declares the flags it takes; anything else is a usage error. A
// flag's spec names its configuration variable and default too, so --help
// and the value a command reads come from the same place.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace mt::cli {

struct FlagSpec {
  std::string name;   // without dashes
  bool takes_value;
  std::string help;
  // Without the flag, ParsedArgs::Value reads this configuration variable
  // (environment, then .env: core/config.h), then takes `def`. --help shows
  // both. Empty: none.
  std::string env = "";
  std::string def = "";
  // An old spelling kept working for scripts that use it (still parsed and
  // read), left out of --help so that one spelling is taught.
  bool hidden = false;
};

struct ParsedArgs {
  std::map<std::string, std::string> flags;  // name -> value ("" for switches)
  std::vector<std::string> positional;
  bool Has(const std::string& n) const { return flags.count(n) > 0; }
  std::string Get(const std::string& n, const std::string& def = "") const {
    auto it = flags.find(n);
    return it == flags.end() ? def : it->second;
  }
  // The flag's value by its spec: the flag, else the spec's variable in
  // `config`, else the spec's default ("" when none applies).
  std::string Value(const std::string& n, const Config& config) const;
  // Whether the flag or its spec's variable gives a value.
  bool Given(const std::string& n, const Config& config) const;

  std::vector<FlagSpec> specs;  // the command's flags, as parsed against
};

// Parses argv[begin..] against `specs`. Accepts --name value, --name=value
// and "--" to end flags.
Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<FlagSpec>& specs);

// Global flags understood by every command.
const std::vector<FlagSpec>& GlobalFlags();

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace mt::cli
