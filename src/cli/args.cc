#include "cli/args.h"

namespace mt::cli {

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"env-file", true, "read KEY=VALUE settings from this file (default ./.env if present)"},
      {"log-level", true, "debug, info, warning or error (env LOG_LEVEL; default info)"},
      {"log-format", true, "text or json (one JSON object per line with `severity`)"},
      {"help", false, "show help"},
  };
  return kFlags;
}

namespace {
const FlagSpec* FindSpec(const std::vector<FlagSpec>& specs, const std::string& n) {
  for (const auto& s : specs) {
    if (s.name == n) return &s;
  }
  return nullptr;
}
}  // namespace

std::string ParsedArgs::Value(const std::string& n, const Config& config) const {
  if (auto it = flags.find(n); it != flags.end()) return it->second;
  const FlagSpec* spec = FindSpec(specs, n);
  if (!spec) return "";
  if (!spec->env.empty()) {
    if (auto v = config.Get(spec->env)) return *v;
  }
  return spec->def;
}

bool ParsedArgs::Given(const std::string& n, const Config& config) const {
  if (Has(n)) return true;
  const FlagSpec* spec = FindSpec(specs, n);
  return spec && !spec->env.empty() && config.Get(spec->env).has_value();
}

Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<FlagSpec>& specs) {
  ParsedArgs out;
  out.specs = specs;
  auto find = [&](const std::string& n) -> const FlagSpec* {
    for (const auto& s : specs) {
      if (s.name == n) return &s;
    }
    for (const auto& s : GlobalFlags()) {
      if (s.name == n) return &s;
    }
    return nullptr;
  };
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (flags_done || a.size() < 2 || a[0] != '-' || a == "-") {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "h") name = "help";
    // Single-letter switches may be bundled as POSIX tools take them
    // ("-lr" is "-l -r"), when every letter is a switch of the command.
    if (a[1] != '-' && !has_value && name.size() > 1 && !find(name)) {
      bool all = true;
      for (char c : name) {
        const FlagSpec* s = find(std::string(1, c));
        all = all && s && !s->takes_value;
      }
      if (all) {
        for (char c : name) out.flags[std::string(1, c)] = "";
        continue;
      }
    }
    const FlagSpec* spec = find(name);
    if (!spec) return Status::Usage("unknown flag --" + name + " (see --help)");
    if (spec->takes_value && !has_value) {
      if (i + 1 >= args.size()) return Status::Usage("flag --" + name + " needs a value");
      value = args[++i];
    } else if (!spec->takes_value && has_value) {
      return Status::Usage("flag --" + name + " takes no value");
    }
    out.flags[name] = value;
  }
  return out;
}

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (s.hidden) continue;
    std::string left = (s.name.size() == 1 ? "  -" : "  --") + s.name + (s.takes_value ? " V" : "");
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    std::string extra;
    if (!s.env.empty()) extra = "env " + s.env;
    if (!s.def.empty()) extra += (extra.empty() ? "" : "; ") + std::string("default ") + s.def;
    out += left + s.help + (extra.empty() ? "" : " (" + extra + ")") + "\n";
  }
  return out;
}

}  // namespace mt::cli
