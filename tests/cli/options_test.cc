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

// --env-file naming a folder is a usage error: it opened as a stream that
// reads nothing, so the run went on without the settings it was given. The
// default ./.env is optional: a folder there is passed over, as a missing file.
TEST_F(OptionsTest, EnvFileThatIsAFolderIsAUsageError) {
  std::filesystem::create_directories(dir_ + "/settings");
  const Status st = ctx_.config.LoadEnvFile(dir_ + "/settings", true);
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_EQ(st.message(), "cannot read --env-file " + dir_ + "/settings: it is a directory");
  EXPECT_TRUE(ctx_.config.LoadEnvFile(dir_ + "/settings", false).ok());
}

// TARDIS_API_KEY_FILE naming a folder or a file without end is a usage
// error: reading a folder through the stream iterator threw and aborted the
// process (exit 134), and /dev/zero was read until memory ran out.
TEST_F(OptionsTest, ApiKeyFileThatIsAFolderOrEndlessIsAUsageError) {
  std::filesystem::create_directories(dir_ + "/keys");
  ::setenv("TARDIS_API_KEY_FILE", (dir_ + "/keys").c_str(), 1);
  auto folder = ApiKey(ctx_);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.status().code(), Status::Code::kUsage);
  EXPECT_NE(folder.status().message().find("it is a directory"), std::string::npos) << folder.status().message();
  ::setenv("TARDIS_API_KEY_FILE", "/dev/zero", 1);
  auto endless = ApiKey(ctx_);
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.status().message(),
            "TARDIS_API_KEY_FILE /dev/zero is longer than 64 KiB; it should hold the key alone");
  std::ofstream(dir_ + "/key") << "  abc123\n";
  ::setenv("TARDIS_API_KEY_FILE", (dir_ + "/key").c_str(), 1);
  auto key = ApiKey(ctx_);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, "abc123");
  // A blank key file (a secret mount not filled in) is a usage error, not a
  // run without a key whose paid days all fail with 401.
  std::ofstream(dir_ + "/blank") << " \n";
  ::setenv("TARDIS_API_KEY_FILE", (dir_ + "/blank").c_str(), 1);
  auto blank = ApiKey(ctx_);
  ASSERT_FALSE(blank.ok());
  EXPECT_EQ(blank.status().code(), Status::Code::kUsage);
  EXPECT_EQ(blank.status().message(),
            "the key in TARDIS_API_KEY_FILE " + dir_ +
                "/blank is blank: put the key there, or unset it to download the free days only");
}

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
  // An id in capitals (as instrument keys spell the venue) is named with the id to use.
  auto caps = Parse("instruments", {"--from", "2024-01-01", "--exchanges", "deribit,BINANCE-FUTURES"});
  ASSERT_TRUE(caps.ok());
  auto bad = InstrumentsOptionsFromArgs(*caps, ctx_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'BINANCE-FUTURES' is not a Tardis exchange id (did you mean binance-futures?)"),
            std::string::npos)
      << bad.status().message();
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

// gcs ls/du/cp/rm: gsutil's switches (bundled too), each only where it
// applies; cp goes one way across; every URL checked before any request.
TEST_F(OptionsTest, GcsToolFlags) {
  auto ls = Parse("gcs", {"ls", "-lr", "gs://bkt/a/*", "gs://other"});
  ASSERT_TRUE(ls.ok()) << ls.status().message();
  auto o = GcsOptionsFromArgs(*ls, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_TRUE(o->long_form);
  EXPECT_TRUE(o->recursive);
  ASSERT_EQ(o->urls.size(), 2u);
  EXPECT_EQ(o->urls[0].object, "a/*");
  EXPECT_EQ(o->urls[1].bucket, "other");

  auto cp = Parse("gcs", {"cp", "-r", "-n", "--jobs", "3", "dir", "file", "gs://bkt/up/"});
  ASSERT_TRUE(cp.ok());
  auto c = GcsOptionsFromArgs(*cp, ctx_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->copy.sources, (std::vector<std::string>{"dir", "file"}));
  EXPECT_EQ(c->copy.destination, "gs://bkt/up/");
  EXPECT_TRUE(c->copy.recursive);
  EXPECT_TRUE(c->copy.no_clobber);
  EXPECT_EQ(c->copy.jobs, 3);

  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ls"},                                  // no URL
           {"ls", "-s", "gs://bkt"},                // -s is du's
           {"du", "-l", "gs://bkt"},                // -l is ls's
           {"rm", "gs://bkt"},                      // the whole bucket needs -r
           {"cp", "a", "b"},                        // both local
           {"cp", "gs://a/x", "gs://b/y"},          // bucket to bucket
           {"cp", "gs://a/x", "local", "gs://b/"},  // mixed sides
           {"cp", "--jobs", "0", "a", "gs://b/"},
           {"cp", "-n", "a", "gs://Bad_Bucket/"},
       }) {
    auto args = Parse("gcs", argv);
    ASSERT_TRUE(args.ok()) << argv[0];
    auto bad = GcsOptionsFromArgs(*args, ctx_);
    ASSERT_FALSE(bad.ok()) << argv[1];
    EXPECT_EQ(bad.status().code(), Status::Code::kUsage) << bad.status().message();
  }
  // A bundle with a letter that is no switch of the command is an unknown flag.
  EXPECT_FALSE(Parse("gcs", {"ls", "-lq", "gs://bkt"}).ok());
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

// derive: the names from --derive and --data-types (derived names there as
// validate takes them), the source data types read, download's shard
// sources; every mistake a usage error (exit 2) before the store is opened.
TEST_F(OptionsTest, DeriveNamesSourcesAndShard) {
  auto a = Parse("derive", {"--from", "2024-01-01", "--to", "2024-01-03", "--data-types",
                            "book_snapshot_10_1000ms,trades", "--derive", "trade_bar_60s,book_snapshot_10_1s",
                            "--exchanges", "deribit", "--output", dir_ + "/s", "--shard", "1/3", "--force"});
  ASSERT_TRUE(a.ok());
  auto o = DeriveOptionsFromArgs(*a, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  std::vector<std::string> names;
  for (const auto& d : o->job.derived) names.push_back(d.name);
  // Canonical names, the duplicate (10_1000ms = 10_1s) once.
  EXPECT_EQ(names, (std::vector<std::string>{"book_snapshot_10_1s", "trade_bar_1m"}));
  EXPECT_EQ(o->job.request.data_types, (std::vector<std::string>{"incremental_book_L2", "trades"}));
  EXPECT_EQ(o->job.request.exchanges, (std::vector<std::string>{"deribit"}));
  EXPECT_TRUE(o->job.request.symbols.empty());
  EXPECT_EQ(o->job.shard.index, 1u);
  EXPECT_EQ(o->job.shard.count, 3u);
  EXPECT_TRUE(o->job.force);
  EXPECT_EQ(o->job.concurrency, 2);
  EXPECT_EQ(o->output, dir_ + "/s");

  // With --symbols, the data types are the names' sources, not download's default (trades).
  auto s = Parse("derive", {"--from", "2024-01-01", "--symbols", "deribit:BTC-PERPETUAL", "--derive",
                            "book_snapshot_5_0ms", "--output", dir_ + "/s"});
  ASSERT_TRUE(s.ok());
  o = DeriveOptionsFromArgs(*s, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.request.data_types, (std::vector<std::string>{"incremental_book_L2"}));
  EXPECT_FALSE(o->job.force);

  // The shard of a Batch task, as download reads it.
  ::setenv("BATCH_TASK_INDEX", "4", 1);
  ::setenv("BATCH_TASK_COUNT", "7", 1);
  o = DeriveOptionsFromArgs(*s, ctx_);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->job.shard.index, 4u);
  EXPECT_EQ(o->job.shard.count, 7u);
  ::unsetenv("BATCH_TASK_INDEX");
  ::unsetenv("BATCH_TASK_COUNT");

  struct Case {
    std::vector<std::string> argv;
    const char* expect;
  };
  const std::string out = dir_ + "/never";
  const std::vector<Case> cases = {
      {{}, "name the derived data types to compute: --derive LIST, or derived names in --data-types"},
      {{"--data-types", "trades"}, "name the derived data types to compute"},
      {{"--derive", "book_snapshot_5_1s", "--data-types", "trades"},
       "--data-types: no derived name given is computed from trades"},
      {{"--data-types", "book_snapshot_5_1s,tardes"}, "--data-types: 'tardes' is neither a Tardis data type nor"},
      {{"--derive", "book_snapshot_2000_1s"}, "--derive:"},
      {{"--derive", "trade_bar_1m", "--concurrency", "0"}, "--concurrency must be an integer from 1 to 256"},
      {{"--derive", "trade_bar_1m", "--shard", "3/2"}, "shard"},
      {{"--derive", "trade_bar_1m", "--shards", "4"}, "--shards N needs JOB_COMPLETION_INDEX"},
      {{"--derive", "trade_bar_1m", "--summary-json", ""}, "--summary-json needs a file name"},
      {{"--derive", "trade_bar_1m", "--output", "s3://b/x"}, "s3://b/x"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {"--from", "2024-01-01", "--output", out};
    argv.insert(argv.end(), c.argv.begin(), c.argv.end());
    auto args = Parse("derive", argv);
    ASSERT_TRUE(args.ok()) << c.expect;
    const Status st = DeriveOptionsFromArgs(*args, ctx_).status();
    EXPECT_EQ(st.code(), Status::Code::kUsage) << c.expect << ": " << st.message();
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
    EXPECT_EQ(RunDerive(*args, ctx_), 2) << c.expect;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.expect;
  }
}

}  // namespace
}  // namespace mt::cli

namespace mt::cli {
namespace {

// --from/--to: a date, or an ISO 8601 date-time at midnight UTC; anything
// else says why.
TEST(DayFlags, DatesAndMidnightUtcDateTimes) {
  for (const char* v : {"2024-01-01", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00+00:00",
                        "2024-01-01T00:00Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00.000000+0000"}) {
    auto d = DayFromFlag("from", v);
    ASSERT_TRUE(d.ok()) << v << ": " << d.status().message();
    EXPECT_EQ(*d, (Date{2024, 1, 1})) << v;
  }
  struct Case {
    const char* value;
    const char* expect;
  };
  for (const Case& c : std::vector<Case>{
           {"2024-01-01T12:00:00Z",
            "--to '2024-01-01T12:00:00Z' is not midnight UTC: --from and --to name whole UTC days (--to is inclusive), "
            "so give 2024-01-01 or 2024-01-01T00:00:00Z"},
           {"2024-01-01T00:00:00.001Z", "is not midnight UTC"},
           {"2024-01-01T00:00:01Z", "is not midnight UTC"},
           {"2024-01-01T00:00:00+02:00",
            "--to '2024-01-01T00:00:00+02:00' has the offset +02:00: days are UTC days, so give the UTC date, e.g. "
            "2024-01-01 or 2024-01-01T00:00:00Z"},
           {"2024-01-01T00:00:00-00:00", "has the offset -00:00"},
           {"2024-01-01T00:00:00", "is not a date or an ISO 8601 date-time with a zone"},
           {"2024-01-01 00:00:00Z", "'2024-01-01 00:00:00Z' is not a date (YYYY-MM-DD, or YYYY-MM-DDT00:00:00Z"},
           {"2024-02-30", "is not a date"},
           {"01/02/2024", "is not a date"},
       }) {
    auto d = DayFromFlag("to", c.value);
    ASSERT_FALSE(d.ok()) << c.value;
    EXPECT_EQ(d.status().code(), Status::Code::kUsage);
    EXPECT_NE(d.status().message().find(c.expect), std::string::npos) << d.status().message();
  }
}

TEST(DayFlags, RangeTakesEitherFormAndStaysInclusive) {
  auto args = ParseArgs({"--from", "2024-01-01T00:00:00.000Z", "--to", "2024-01-31T00:00:00+00:00"},
                        {{"from", true, ""}, {"to", true, ""}});
  ASSERT_TRUE(args.ok());
  auto r = DateRangeFromArgs(*args);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->from, (Date{2024, 1, 1}));
  EXPECT_EQ(r->to, (Date{2024, 1, 31}));
}

// Every command with days says next to --to that it is inclusive, unlike
// tardis-dev's exclusive to_date.
TEST(DayFlags, HelpSaysToIsInclusiveBesideTardisDevsExclusiveToDate) {
  int seen = 0;
  for (const auto& c : Commands()) {
    for (const auto& f : c.flags) {
      if (f.name != "to") continue;
      seen++;
      EXPECT_NE(f.help.find("INCLUSIVE"), std::string::npos) << c.name;
      EXPECT_NE(f.help.find("tardis-dev's to_date is exclusive"), std::string::npos) << c.name;
    }
  }
  EXPECT_EQ(seen, 5);  // instruments, download, plan, validate, derive
}

// --force is the one spelling of "redo what exists"; the old --overwrite of
// convert and gcs put still works and is not in --help.
TEST(ForceFlag, OneSpellingOldOnesHiddenAndWorking) {
  Context ctx;
  for (const auto& c : Commands()) {
    const std::string name = c.name;
    const std::string help = FormatFlagHelp(c.flags);
    EXPECT_EQ(help.find("--overwrite"), std::string::npos) << name << "\n" << help;
    if (name == "instruments" || name == "download" || name == "convert" || name == "gcs") {
      EXPECT_NE(help.find("  --force "), std::string::npos) << name;
    }
  }
  auto convert = [&](std::vector<std::string> argv) -> Result<bool> {
    for (const auto& c : Commands()) {
      if (std::string(c.name) != "convert") continue;
      MT_ASSIGN_OR_RETURN(ParsedArgs a, ParseArgs(argv, c.flags));
      MT_ASSIGN_OR_RETURN(ConvertOptions o, ConvertOptionsFromArgs(a, ctx));
      return o.job.target.overwrite;
    }
    return Status::Internal("no convert");
  };
  EXPECT_EQ(*convert({"a.csv"}), true);  // convert's default, as before
  EXPECT_EQ(*convert({"a.csv", "--force"}), true);
  EXPECT_EQ(*convert({"a.csv", "--no-force"}), false);
  EXPECT_EQ(*convert({"a.csv", "--overwrite", "false"}), false);
  EXPECT_EQ(*convert({"a.csv", "--overwrite=true"}), true);
  EXPECT_EQ(convert({"a.csv", "--force", "--no-force"}).status().message(),
            "--force and --no-force contradict each other");
  EXPECT_EQ(convert({"a.csv", "--force", "--overwrite", "false"}).status().message(),
            "--overwrite false contradicts --force");
  auto gcs = [&](std::vector<std::string> argv) -> bool {
    for (const auto& c : Commands()) {
      if (std::string(c.name) != "gcs") continue;
      auto a = ParseArgs(argv, c.flags);
      auto o = GcsOptionsFromArgs(*a, ctx);
      EXPECT_TRUE(o.ok()) << o.status().message();
      return o.ok() && o->overwrite;
    }
    return false;
  };
  EXPECT_FALSE(gcs({"put", "f", "gs://b/o"}));
  EXPECT_TRUE(gcs({"put", "f", "gs://b/o", "--force"}));
  EXPECT_TRUE(gcs({"put", "f", "gs://b/o", "--overwrite"}));
}

}  // namespace
}  // namespace mt::cli
