#include "core/status.h"

namespace mt {

std::string Status::ToString() const {
  if (ok()) return "OK";
  return msg_;
}

}  // namespace mt
