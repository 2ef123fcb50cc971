#include "core/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace mt {

namespace {
std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

Status Config::LoadEnvFile(const std::string& path, bool required) {
  // A folder opens as a stream that reads nothing: a --env-file naming one
  // would apply no setting, and say nothing.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (required) return Status::Usage("cannot read --env-file " + path + ": it is a directory");
    return Status::OK();
  }
  std::ifstream in(path);
  if (!in) {
    if (required) return Status::Usage("cannot read --env-file " + path);
    return Status::OK();
  }
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = Trim(line.substr(7));
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Usage(path + ":" + std::to_string(n) + ": expected KEY=VALUE");
    }
    std::string key = Trim(line.substr(0, eq)), value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    file_[key] = value;
  }
  return Status::OK();
}

std::optional<std::string> Config::Get(const std::string& name) const {
  if (const char* v = std::getenv(name.c_str()); v && *v) return std::string(v);
  auto it = file_.find(name);
  if (it != file_.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

std::string Config::GetOr(const std::string& name, const std::string& def) const {
  auto v = Get(name);
  return v ? *v : def;
}

}  // namespace mt
