// Instrument definitions for tests that plan or validate against a store:
// only the fields the planner and the validator read are set.
#pragma once

#include <string>

#include "core/time_util.h"
#include "pipeline/instruments.h"

namespace mt::testing {

// An instrument listed since 2019-09-01 with the data types DATA_TYPES
// (comma-separated), its venue the key's first part, its raw symbol the
// Tardis symbol, from Tardis (data_provider, venue_type and asset_class as
// every Tardis row has them). Tests that need more set the fields after.
inline pipeline::InstrumentDefinition Definition(const std::string& key, const std::string& exchange,
                                                 const std::string& symbol, const std::string& data_types,
                                                 const std::string& instrument_type = "perpetual") {
  pipeline::InstrumentDefinition d;
  d.instrument_key = key;
  d.venue = key.substr(0, key.find(':'));
  d.instrument_type = instrument_type;
  d.available_from_us = MicrosFromDate(Date{2019, 9, 1});
  d.data_types = data_types;
  d.tardis_exchange = exchange;
  d.tardis_symbol = symbol;
  d.exchange_raw_symbol = symbol;
  d.data_provider = "tardis";
  d.venue_type = "exchange";
  d.asset_class = "crypto";
  return d;
}

}  // namespace mt::testing
