// One work item through the downloader into a scratch local store, for the
// downloader's tests against the scripted HTTP double.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/downloader.h"
#include "storage/object_store.h"

namespace mt::testing {

// Downloads the trades of binance-futures BTCUSDT on 2020-02-22 with O (its
// HTTP factory, clock, retry and bounds are the caller's; the store, the
// datasets URL and one request at a time are set here) into a fresh local
// store in the temporary directory DIR_NAME, removed afterwards. *files gets
// the names of the files the store held at the end.
inline pipeline::ItemResult DownloadOneItem(const std::string& dir_name, pipeline::DownloadOptions o,
                                            std::vector<std::string>* files) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / dir_name;
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  o.datasets_url = "http://127.0.0.1:9";
  o.store = store.get();
  o.concurrency = 1;
  pipeline::Downloader dl(o);
  pipeline::ItemResult result =
      dl.Run({pipeline::WorkItem{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT", {}}}).at(0);
  if (fs::exists(dir)) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files->push_back(e.path().filename().string());
    }
  }
  fs::remove_all(dir);
  return result;
}

}  // namespace mt::testing
