// Flag specs and the per-command options: values come from the flag, then
// the configuration (environment, then .env), then the spec's default, and
// every check fails with kUsage before anything is opened.
#include "cli/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "cli/settings.h"
#include "core/time_util.h"
#include "support/temp_dir.h"

namespace mt::cli {
namespace {

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : kVars) ::unsetenv(v);
  }
  void TearDown() override {
    for (const char* v : kVars) ::unsetenv(v);
    PinCreatedAt(std::nullopt);
  }
  // Loads `text` as the .env file of `ctx_`.
  void DotEnv(const std::string& text) {
    std::ofstream(dir_ + "/.env") << text;
    ASSERT_TRUE(ctx_.config.LoadEnvFile(dir_ + "/.env", true).ok());
  }
  Result<ParsedArgs> Parse(const std::string& command, std::vector<std::string> argv) {
    for (const auto& c : Commands()) {
      if (command == c.name) return ParseArgs(argv, c.flags);
    }
    return Status::Internal("no command " + command);
  }
  static constexpr const char* kVars[] = {
      "BATCH_SIZE", "OUTPUT_URI", "GCS_BUCKET", "SOURCE_DATE_EPOCH", "EXCHANGES", "DATA_TYPES", "SYMBOLS",
      "INSTRUMENT_TYPES", "BASE_ASSETS", "QUOTE_ASSETS", "MAX_INSTRUMENTS", "MAX_CONCURRENT_REQUESTS", "SHARD_INDEX",
      "SHARD_COUNT", "BATCH_TASK_INDEX", "BATCH_TASK_COUNT", "JOB_COMPLETION_INDEX", "TARDIS_API_KEY",
      "TARDIS_API_KEY_FILE"};
  testing::TempDir tmp_{"mt_options_"};
  const std::string dir_ = tmp_.path();
  Context ctx_;
};

TEST_F(OptionsTest, FlagBeatsEnvironmentBeatsDotEnvBeatsDefault) {
  auto none = Parse("convert", {"f.csv.gz"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Value("batch-size", ctx_.config), "1000000");  // the spec's default
  EXPECT_FALSE(none->Given("batch-size", ctx_.config));
  DotEnv("BATCH_SIZE=5000\n");
  EXPECT_EQ(none->Value("batch-size", ctx_.config), "5000");
  EXPECT_TRUE(none->Given("batch-size", ctx_.config));
  ::setenv("BATCH_SIZE", "7000", 1);
  EXPECT_EQ(none->Value("batch-size", ctx_.config), "7000");
  auto flag = Parse("convert", {"f.csv.gz", "--batch-size", "9000"});
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->Value("batch-size", ctx_.config), "9000");
}

TEST_F(OptionsTest, HelpShowsTheVariableAndDefaultOfTheSpec) {
  for (const auto& c : Commands()) {
    if (std::string(c.name) != "convert") continue;
    const std::string help = FormatFlagHelp(c.flags);
    EXPECT_NE(help.find("rows per Parquet row group (env BATCH_SIZE; default 1000000)"), std::string::npos) << help;
    EXPECT_NE(help.find("(env OUTPUT_URI; default ./data)"), std::string::npos) << help;
    EXPECT_NE(help.find("zstd, snappy or none (default zstd)"), std::string::npos) << help;
  }
}

TEST_F(OptionsTest, DotEnvBatchSizeReachesTheConverterSettings) {
  DotEnv("BATCH_SIZE=4321\n");
  auto args = Parse("convert", {"x.csv", "--output", dir_ + "/out"});
  ASSERT_TRUE(args.ok());
  auto o = ConvertOptionsFromArgs(*args, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.convert.parser.batch_rows, 4321u);
}

// A bad flag fails before any store is opened: with a gs:// output and no
// credentials, opening would be an error of its own (or a request).
TEST_F(OptionsTest, BadThreadsIsAUsageErrorBeforeAnyStore) {
  auto args = Parse("convert", {"x.csv", "--threads", "0", "--output", "gs://no-such-bucket"});
  ASSERT_TRUE(args.ok());
  auto o = ConvertOptionsFromArgs(*args, ctx_);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Status::Code::kUsage);
  EXPECT_NE(o.status().message().find("--threads"), std::string::npos) << o.status().message();
}

TEST_F(OptionsTest, ConvertChecks) {
  struct Case {
    std::vector<std::string> argv;
    const char* expect;  // part of the message
  };
  const std::vector<Case> cases = {
      {{}, "no input files"},
      {{"a.csv", "--output", "s3://bucket/x"}, "s3://bucket/x"},
      {{"a.csv", "b.csv", "--output", "one.parquet"}, "exactly one input"},
      {{"a.csv", "--output", "one.parquet", "--derive", "trade_bar_1m"}, "--derive writes into a store"},
      {{"a.csv", "--overwrite", "maybe"}, "--overwrite must be true or false"},
      {{"a.csv", "--data-type", "nope"}, "unknown --data-type 'nope'"},
      {{"a.csv", "--derive", "nonsense"}, "--derive:"},
      {{"binancee_trades_2020-02-22_BTCUSDT.csv.gz"}, "(in the file name)"},
      {{"a.csv", "--encodings", "fancy"}, "--encodings"},
  };
  for (const auto& c : cases) {
    auto args = Parse("convert", c.argv);
    ASSERT_TRUE(args.ok());
    auto o = ConvertOptionsFromArgs(*args, ctx_);
    ASSERT_FALSE(o.ok()) << c.expect;
    EXPECT_EQ(o.status().code(), Status::Code::kUsage) << c.expect;
    EXPECT_NE(o.status().message().find(c.expect), std::string::npos) << o.status().message();
  }
}

TEST_F(OptionsTest, ConvertOutputs) {
  auto file = Parse("convert", {"a.csv", "--output", "file://" + dir_ + "/one.parquet"});
  ASSERT_TRUE(file.ok());
  auto f = ConvertOptionsFromArgs(*file, ctx_);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->job.target.single_file, dir_ + "/one.parquet");
  // OUTPUT_URI from .env; convert does not turn GCS_BUCKET into its output.
  DotEnv("OUTPUT_URI=" + dir_ + "/store\nGCS_BUCKET=bkt\n");
  auto store = Parse("convert", {"a.csv"});
  ASSERT_TRUE(store.ok());
  auto s = ConvertOptionsFromArgs(*store, ctx_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->output, dir_ + "/store");
  EXPECT_TRUE(s->job.target.single_file.empty());
}

TEST_F(OptionsTest, InstrumentsChecksAndDefaults) {
  auto ok = Parse("instruments", {"--from", "2024-01-01", "--quote", "usdt,usdc"});
  ASSERT_TRUE(ok.ok());
  auto o = InstrumentsOptionsFromArgs(*ok, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.exchanges.size(), 8u);  // the seed's venues
  EXPECT_EQ(o->job.quotes, (std::vector<std::string>{"USDT", "USDC"}));
  EXPECT_EQ(o->output, "./data");
  DotEnv("EXCHANGES=deribit,deribit,binance\nGCS_BUCKET=my-bucket\n");
  auto env = InstrumentsOptionsFromArgs(*ok, ctx_);
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->job.exchanges, (std::vector<std::string>{"deribit", "binance"}));
  EXPECT_EQ(env->output, "gs://my-bucket");
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"--from", "2024-01-01", "--format", "xml"},
           {"--from", "2024-02-30"},
           {"--from", "2024-01-01", "--exchanges", "Binance"},
           {"--from", "2024-01-01", "--output", "s3://b"},
       }) {
    auto args = Parse("instruments", argv);
    ASSERT_TRUE(args.ok());
    auto bad = InstrumentsOptionsFromArgs(*args, ctx_);
    ASSERT_FALSE(bad.ok()) << argv.back();
    EXPECT_EQ(bad.status().code(), Status::Code::kUsage) << bad.status().message();
  }
}

TEST_F(OptionsTest, GcsChecks) {
  auto ok = Parse("gcs", {"cat", "gs://bkt/a/b.bin", "--offset", "10", "--length", "5"});
  ASSERT_TRUE(ok.ok());
  auto o = GcsOptionsFromArgs(*ok, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->bucket, "gs://bkt");
  EXPECT_EQ(o->object, "a/b.bin");
  EXPECT_EQ(o->offset, 10u);
  EXPECT_EQ(o->length, 5);
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"cp", "gs://bkt/a"}, {"stat", "gs://bkt"}, {"ls", "s3://bkt"}, {"put", "gs://bkt/a"},
           {"cat", "gs://bkt/a", "--offset", "x"}}) {
    auto args = Parse("gcs", argv);
    ASSERT_TRUE(args.ok());
    auto bad = GcsOptionsFromArgs(*args, ctx_);
    ASSERT_FALSE(bad.ok()) << argv[0];
    EXPECT_EQ(bad.status().code(), Status::Code::kUsage);
  }
}

// SOURCE_DATE_EPOCH in .env pins created_at as the environment's would.
TEST_F(OptionsTest, DotEnvSourceDateEpochApplies) {
  DotEnv("SOURCE_DATE_EPOCH=1700000000\n");
  ASSERT_TRUE(ApplyProcessSettings(ctx_).ok());
  EXPECT_EQ(CreatedAtMicros(), int64_t{1700000000} * 1000000);
  ::setenv("SOURCE_DATE_EPOCH", "12", 1);  // the environment wins over .env
  ASSERT_TRUE(ApplyProcessSettings(ctx_).ok());
  EXPECT_EQ(CreatedAtMicros(), 12000000);
  ::setenv("SOURCE_DATE_EPOCH", "soon", 1);
  const Status bad = ApplyProcessSettings(ctx_);
  EXPECT_EQ(bad.code(), Status::Code::kUsage);
  EXPECT_NE(bad.message().find("SOURCE_DATE_EPOCH"), std::string::npos) << bad.message();
}

// The selection flags of download, plan and validate read their variables
// through their specs, so a .env value applies as the environment's would.
TEST_F(OptionsTest, SelectionFlagsReadTheirVariablesThroughTheirSpecs) {
  DotEnv(
      "EXCHANGES=deribit\nDATA_TYPES=quotes,trades\nINSTRUMENT_TYPES=option\nBASE_ASSETS=btc\n"
      "QUOTE_ASSETS=usd\nMAX_INSTRUMENTS=7\nMAX_CONCURRENT_REQUESTS=3\n");
  auto d = Parse("download", {"--from", "2024-01-01", "--output", dir_ + "/out"});
  ASSERT_TRUE(d.ok());
  auto download = DownloadOptionsFromArgs(*d, ctx_);
  ASSERT_TRUE(download.ok()) << download.status().message();
  const pipeline::PlanRequest& req = download->job.request;
  EXPECT_EQ(req.exchanges, (std::vector<std::string>{"deribit"}));
  EXPECT_EQ(req.data_types, (std::vector<std::string>{"quotes", "trades"}));
  EXPECT_EQ(req.instruments.types, (std::set<std::string>{"OPTION"}));
  EXPECT_EQ(req.instruments.bases, (std::set<std::string>{"BTC"}));
  EXPECT_EQ(req.instruments.quotes, (std::set<std::string>{"USD"}));
  EXPECT_EQ(req.instruments.max_instruments, 7u);
  EXPECT_EQ(download->job.download.concurrency, 3);
  EXPECT_TRUE(download->job.source.report_data_types);  // DATA_TYPES narrows --from-report
  EXPECT_EQ(download->output, dir_ + "/out");
  // The flag wins over the variable; validate and plan read the same ones.
  ::setenv("SYMBOLS", "binance:BTCUSDT", 1);
  auto v = Parse("validate", {"--from", "2024-01-01", "--exchanges", "binance", "--max-instruments", "2"});
  ASSERT_TRUE(v.ok());
  auto validate = ValidateOptionsFromArgs(*v, ctx_);
  ASSERT_TRUE(validate.ok()) << validate.status().message();
  EXPECT_EQ(validate->job.selection.exchanges, (std::vector<std::string>{"binance"}));
  EXPECT_EQ(validate->job.selection.symbols, (std::vector<std::string>{"binance:BTCUSDT"}));
  EXPECT_EQ(validate->job.selection.instruments.max_instruments, 2u);
  EXPECT_EQ(validate->job.concurrency, 16);  // validate's own default; MAX_CONCURRENT_REQUESTS is download's
  auto p = Parse("plan", {"--from", "2024-01-01", "--json"});
  ASSERT_TRUE(p.ok());
  auto plan = PlanOptionsFromArgs(*p, ctx_);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->job.request.symbols, (std::vector<std::string>{"binance:BTCUSDT"}));
  EXPECT_EQ(plan->job.request.data_types, (std::vector<std::string>{"quotes", "trades"}));
  EXPECT_TRUE(plan->json);
  EXPECT_EQ(plan->output, "./data");
  // Without DATA_TYPES (a configuration without that .env), --from-report
  // takes every data type of the reports.
  auto unset = Parse("download", {"--from", "2024-01-01"});
  ASSERT_TRUE(unset.ok());
  const Context fresh;
  auto all = DownloadOptionsFromArgs(*unset, fresh);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_FALSE(all->job.source.report_data_types);
  EXPECT_EQ(all->job.download.concurrency, 8);  // the spec's default
}

// Every check of download, plan and validate comes before any I/O: a bad
// --concurrency or --shards is kUsage from the options alone, and the
// command exits 2 with no store opened (the output directory is never made).
TEST_F(OptionsTest, BadConcurrencyOrShardsFailBeforeTheStore) {
  struct Case {
    const char* command;
    std::vector<std::string> argv;
    const char* expect;
  };
  const std::string out = dir_ + "/never";
  const std::vector<Case> cases = {
      {"download", {"--concurrency", "0"}, "--concurrency/MAX_CONCURRENT_REQUESTS must be an integer from 1 to 256"},
      {"download", {"--concurrency", "lots"}, "got 'lots'"},
      {"download", {"--shard", "3/2"}, "shard"},
      {"download", {"--instrument-types", "swap"}, "'swap' is not one of spot, perpetual, future, option, combo"},
      {"plan", {"--shards", "0"}, "--shards must be a positive integer"},
      {"plan", {"--shards", "x"}, "--shards must be a positive integer"},
      {"validate", {"--concurrency", "0"}, "--concurrency must be an integer from 1 to 1024"},
      {"validate", {"--output", "s3://b/x"}, "s3://b/x"},
      {"plan", {"--output", "s3://b/x"}, "s3://b/x"},
      {"download", {"--shards", "4"}, "--shards N needs JOB_COMPLETION_INDEX"},
      {"download", {"--dry-run", "--summary-json", "s.json"}, "a --dry-run downloads nothing"},
      {"download", {"--data-types", "trade_bar_1m"}, "'trade_bar_1m' is a derived data type"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {"--from", "2024-01-01", "--symbols", "binance:BTCUSDT", "--output", out};
    argv.insert(argv.end(), c.argv.begin(), c.argv.end());
    auto args = Parse(c.command, argv);
    ASSERT_TRUE(args.ok()) << c.expect;
    Status st;
    int code = 0;
    if (std::string(c.command) == "download") {
      st = DownloadOptionsFromArgs(*args, ctx_).status();
      code = RunDownload(*args, ctx_);
    } else if (std::string(c.command) == "plan") {
      st = PlanOptionsFromArgs(*args, ctx_).status();
      code = RunPlan(*args, ctx_);
    } else {
      st = ValidateOptionsFromArgs(*args, ctx_).status();
      code = RunValidate(*args, ctx_);
    }
    EXPECT_EQ(st.code(), Status::Code::kUsage) << c.command << " " << c.expect << ": " << st.message();
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
    EXPECT_EQ(code, 2) << c.command << " " << c.expect;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.command << " " << c.expect;
  }
  // The shard count of a Kubernetes Indexed Job: --shards, else SHARD_COUNT;
  // SHARD_COUNT alone (no index of any kind) is still an error.
  ::setenv("JOB_COMPLETION_INDEX", "2", 1);
  ::setenv("SHARD_COUNT", "5", 1);
  auto k8s = Parse("download", {"--from", "2024-01-01", "--symbols", "binance:BTCUSDT"});
  ASSERT_TRUE(k8s.ok());
  auto o = DownloadOptionsFromArgs(*k8s, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.shard.index, 2u);
  EXPECT_EQ(o->job.shard.count, 5u);
  auto flag = Parse("download", {"--from", "2024-01-01", "--symbols", "binance:BTCUSDT", "--shards", "4"});
  ASSERT_TRUE(flag.ok());
  o = DownloadOptionsFromArgs(*flag, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.shard.count, 4u);
  ::unsetenv("JOB_COMPLETION_INDEX");
  o = DownloadOptionsFromArgs(*k8s, ctx_);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(), "SHARD_COUNT is set but SHARD_INDEX is not: set both, or pass --shard I/N");
}

// --help of download, plan and validate lists every flag with the variable
// and default of its spec, and no help text repeats a variable by hand.
TEST_F(OptionsTest, HelpOfTheSelectionCommandsShowsEveryVariableAndDefault) {
  std::map<std::string, std::string> help;
  for (const auto& c : Commands()) {
    const std::string name = c.name;
    if (name != "download" && name != "plan" && name != "validate") continue;
    help[name] = FormatFlagHelp(c.flags);
    for (const auto& f : c.flags) {
      EXPECT_EQ(f.help.find("(env "), std::string::npos) << name << " --" << f.name << ": " << f.help;
      const size_t at = help[name].find("  --" + f.name + (f.takes_value ? " V" : ""));
      ASSERT_NE(at, std::string::npos) << name << " --" << f.name;
      const std::string line = help[name].substr(at, help[name].find('\n', at) - at);
      if (!f.env.empty()) {
        EXPECT_NE(line.find("env " + f.env), std::string::npos) << line;
      }
      if (!f.def.empty()) {
        EXPECT_NE(line.find("default " + f.def), std::string::npos) << line;
      }
    }
  }
  ASSERT_EQ(help.size(), 3u);
  for (const char* v : {"EXCHANGES", "DATA_TYPES", "SYMBOLS", "INSTRUMENT_TYPES", "BASE_ASSETS", "QUOTE_ASSETS",
                        "MAX_INSTRUMENTS", "OUTPUT_URI"}) {
    for (const auto& [name, text] : help) EXPECT_NE(text.find("env " + std::string(v)), std::string::npos) << name << " " << v;
  }
  EXPECT_NE(help["download"].find("files in flight (env MAX_CONCURRENT_REQUESTS; default 8)"), std::string::npos)
      << help["download"];
  EXPECT_NE(help["download"].find("(env SHARD_COUNT)"), std::string::npos) << help["download"];
  EXPECT_NE(help["download"].find("(env BATCH_SIZE; default 1000000)"), std::string::npos) << help["download"];
  EXPECT_NE(help["validate"].find("footers read at once with --deep (default 16)"), std::string::npos)
      << help["validate"];
  EXPECT_NE(help["plan"].find("(env OUTPUT_URI; default ./data)"), std::string::npos) << help["plan"];
}

}  // namespace
}  // namespace mt::cli
