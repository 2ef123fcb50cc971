// Command-line flags parsed into a map before any I/O (ninja style): every
// command declares the flags it takes; anything else is a usage error.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace mt::cli {

struct FlagSpec {
  std::string name;   // without dashes
  bool takes_value;
  std::string help;
};

struct ParsedArgs {
  std::map<std::string, std::string> flags;  // name -> value ("" for switches)
  std::vector<std::string> positional;
  bool Has(const std::string& n) const { return flags.count(n) > 0; }
  std::string Get(const std::string& n, const std::string& def = "") const {
    auto it = flags.find(n);
    return it == flags.end() ? def : it->second;
  }
};

// Parses argv[begin..] against `specs`. Accepts --name value, --name=value
// and "--" to end flags.
Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<FlagSpec>& specs);

// Global flags understood by every command.
const std::vector<FlagSpec>& GlobalFlags();

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace mt::cli
