// RunResults: a run's results kept out of memory, the --summary-json
// document streamed from its temporary file in plan order, and failures of
// that file failing the summary (exit 3) with no file written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/exit_code.h"
#include "core/redact.h"
#include "pipeline/download_job.h"
#include "support/temp_dir.h"

namespace mt::pipeline {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ItemResult Result(const std::string& day_symbol, Outcome outcome) {
  ItemResult r;
  const Date day = day_symbol[0] == '1' ? Date{2024, 1, 1} : Date{2024, 1, 2};
  r.item = WorkItem{day, "trades", "deribit", day_symbol.substr(1)};
  r.outcome = outcome;
  return r;
}

// The plan: a grouped item done with three options' objects and a combo
// without a key, a one-instrument item skipped, one the source does not
// have, and one failed with a server's answer quoting a credential and
// bytes that are not UTF-8.
std::vector<ItemResult> Plan() {
  std::vector<ItemResult> plan;
  ItemResult g = Result("1OPTIONS", Outcome::kDone);
  g.requests = 1;
  g.rows = 40;
  g.bytes_in = 1000;
  g.bytes_out = 2000;
  g.objects = {"a/BTC-1.parquet", "a/BTC-2.parquet", "a/ETH-1.parquet"};
  g.unkeyed_rows = 2;
  g.unkeyed_symbols = {"BTC-COMBO"};
  plan.push_back(g);
  ItemResult s = Result("1BTC-PERPETUAL", Outcome::kSkipped);
  s.reason = "object exists";
  s.objects = {"b/BTC-PERPETUAL.parquet"};
  plan.push_back(s);
  ItemResult n = Result("2BTC-PERPETUAL", Outcome::kNotAvailable);
  n.reason = "404";
  n.requests = 1;
  plan.push_back(n);
  ItemResult f = Result("2OPTIONS", Outcome::kFailed);
  f.reason = "HTTP 500: Bearer abcdefgh \xff end";
  f.requests = 3;
  f.bytes_in = 7;
  plan.push_back(f);
  return plan;
}

const char kExpected[] =
    "{\"items\":4,\"counts\":{\"done\":1,\"skipped\":1,\"no_data\":0,\"not_available\":1,\"failed\":1,"
    "\"failed_retryable\":0,\"cancelled\":0},\"bytes_in\":1007,\"bytes_out\":2000,\"rows\":40,\"unkeyed_rows\":2,"
    "\"seconds\":1.5,\"results\":["
    "{\"id\":\"2024-01-01/trades/deribit/OPTIONS\",\"outcome\":\"done\",\"reason\":\"\",\"requests\":1,\"rows\":40,"
    "\"bytes_in\":1000,\"bytes_out\":2000,\"objects\":[\"a/BTC-1.parquet\",\"a/BTC-2.parquet\",\"a/ETH-1.parquet\"],"
    "\"unkeyed_rows\":2,\"unkeyed_symbols\":[\"BTC-COMBO\"]},"
    "{\"id\":\"2024-01-01/trades/deribit/BTC-PERPETUAL\",\"outcome\":\"skipped\",\"reason\":\"object exists\","
    "\"requests\":0,\"rows\":0,\"bytes_in\":0,\"bytes_out\":0,\"objects\":[\"b/BTC-PERPETUAL.parquet\"],"
    "\"unkeyed_rows\":0,\"unkeyed_symbols\":[]},"
    "{\"id\":\"2024-01-02/trades/deribit/BTC-PERPETUAL\",\"outcome\":\"not_available\",\"reason\":\"404\","
    "\"requests\":1,\"rows\":0,\"bytes_in\":0,\"bytes_out\":0,\"objects\":[],\"unkeyed_rows\":0,"
    "\"unkeyed_symbols\":[]},"
    "{\"id\":\"2024-01-02/trades/deribit/OPTIONS\",\"outcome\":\"failed\",\"reason\":\"HTTP 500: Bearer [REDACTED] "
    "\xef\xbf\xbd end\",\"requests\":3,\"rows\":0,\"bytes_in\":7,\"bytes_out\":0,\"objects\":[],\"unkeyed_rows\":0,"
    "\"unkeyed_symbols\":[]}"
    "]}\n";

TEST(RunResultsTest, SummaryIsStreamedInPlanOrderWhateverOrderItemsEnd) {
  testing::TempDir dir("mt-run-results-");
  const std::vector<ItemResult> plan = Plan();
  RunResults results(plan.size(), true);
  ASSERT_TRUE(results.status().ok()) << results.status().ToString();
  for (size_t i : {2, 0, 3, 1}) results.Add(i, plan[i]);
  EXPECT_EQ(results.totals().items, 4u);
  EXPECT_EQ(results.totals().rows, 40u);
  EXPECT_EQ(results.totals().unkeyed_rows, 2u);
  const std::string path = dir.File("summary.json");
  const Status st = results.WriteSummaryJson(path, 1.5);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ReadAll(path), kExpected);
}

TEST(RunResultsTest, DeriveCountsMissingAndAnEmptyRunHasEmptyResults) {
  testing::TempDir dir("mt-run-results-");
  RunResults results(0, true);
  const std::string path = dir.File("summary.json");
  ASSERT_TRUE(results.WriteSummaryJson(path, 0.25, true).ok());
  EXPECT_EQ(ReadAll(path),
            "{\"items\":0,\"counts\":{\"done\":0,\"skipped\":0,\"no_data\":0,\"not_available\":0,\"failed\":0,"
            "\"failed_retryable\":0,\"cancelled\":0,\"missing\":0},\"bytes_in\":0,\"bytes_out\":0,\"rows\":0,"
            "\"unkeyed_rows\":0,\"seconds\":0.25,\"results\":[]}\n");
}

TEST(RunResultsTest, WithoutASummaryOnlyTotalsAreKept) {
  const std::vector<ItemResult> plan = Plan();
  RunResults results(plan.size(), false);
  for (size_t i = 0; i < plan.size(); i++) results.Add(i, plan[i]);
  EXPECT_TRUE(results.status().ok());
  EXPECT_EQ(results.totals().items, 4u);
  ItemTotals t = results.totals();
  EXPECT_EQ(t.counts[Outcome::kFailed], 1);
  EXPECT_EQ(t.bytes_in, 1007u);
}

// No file at `path` and no temporary file of the atomic write beside it.
void ExpectNothingWritten(const testing::TempDir& dir) {
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a summary or its temporary file was left";
}

TEST(RunResultsTest, AnEntryThatCannotBeWrittenFailsTheSummaryRetryably) {
  testing::TempDir dir("mt-run-results-");
  const std::vector<ItemResult> plan = Plan();
  // A descriptor open for reading only: every write fails (EBADF).
  RunResults results(plan.size(), ::open("/dev/null", O_RDONLY | O_CLOEXEC));
  for (size_t i = 0; i < plan.size(); i++) results.Add(i, plan[i]);
  EXPECT_EQ(results.status().code(), Status::Code::kIOError);
  EXPECT_EQ(results.totals().items, 4u);  // the totals (summary line, verdict) are whole
  const Status st = WriteRunSummary(&results, dir.File("summary.json"), 1.0, false, Status::OK());
  EXPECT_EQ(ExitCodeFor(st), kExitRetryable) << st.ToString();
  EXPECT_NE(st.message().find("cannot write the summary's entries"), std::string::npos) << st.message();
  ExpectNothingWritten(dir);
}

TEST(RunResultsTest, AnEntryThatCannotBeReadBackFailsTheSummaryRetryably) {
  testing::TempDir dir("mt-run-results-");
  const std::vector<ItemResult> plan = Plan();
  // Open for writing only: the entries go in, reading them back fails.
  const int fd = ::open(dir.File("entries").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::unlink(dir.File("entries").c_str());
  RunResults results(plan.size(), fd);
  for (size_t i = 0; i < plan.size(); i++) results.Add(i, plan[i]);
  ASSERT_TRUE(results.status().ok()) << results.status().ToString();
  const Status st = WriteRunSummary(&results, dir.File("summary.json"), 1.0, false, Status::OK());
  EXPECT_EQ(ExitCodeFor(st), kExitRetryable) << st.ToString();
  EXPECT_NE(st.message().find("cannot read back the summary's entries"), std::string::npos) << st.message();
  ExpectNothingWritten(dir);
}

TEST(RunResultsTest, AnItemWithoutAResultFailsTheSummary) {
  testing::TempDir dir("mt-run-results-");
  const std::vector<ItemResult> plan = Plan();
  RunResults results(plan.size(), true);
  for (size_t i : {0, 1, 3}) results.Add(i, plan[i]);
  const Status st = results.WriteSummaryJson(dir.File("summary.json"), 1.0);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("item 2 of the plan has no result"), std::string::npos) << st.message();
  ExpectNothingWritten(dir);
}

TEST(RunResultsTest, NoTemporaryDirectoryIsAUsageErrorBeforeTheRun) {
  testing::ScopedTmpdir tmpdir("/nonexistent-mt-run-results");
  RunResults results(3, true);
  RunResults without(3, false);
  tmpdir.Restore();
  // Missing, it stays missing on a rerun: a configuration error, not retryable.
  EXPECT_EQ(ExitCodeFor(results.status()), kExitUsage) << results.status().ToString();
  EXPECT_NE(results.status().message().find("/nonexistent-mt-run-results"), std::string::npos);
  EXPECT_TRUE(without.status().ok());  // no summary asked for: no file needed
}

}  // namespace
}  // namespace mt::pipeline
