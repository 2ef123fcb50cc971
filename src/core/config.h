// Configuration lookup with this precedence (README.md, Configuration):
// flag > environment > .env file > default. The .env file never overrides
// the real environment.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/status.h"

namespace mt {

class Config {
 public:
  // Loads KEY=VALUE lines (comments, blank lines, `export ` prefixes and
  // quotes allowed). A missing file is fine only when !required.
  Status LoadEnvFile(const std::string& path, bool required);
  // Environment first, then the .env file.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& def) const;

 private:
  std::map<std::string, std::string> file_;
};

}  // namespace mt
