// Flag specs and the per-command options: values come from the flag, then
// the configuration (environment, then .env), then the spec's default, and
// every check fails with kUsage before anything is opened.
#include "cli/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/settings.h"
#include "core/time_util.h"

namespace mt::cli {
namespace {

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mt_options_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* v : kVars) ::unsetenv(v);
  }
  void TearDown() override {
    for (const char* v : kVars) ::unsetenv(v);
    PinCreatedAt(std::nullopt);
    std::filesystem::remove_all(dir_);
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
  static constexpr const char* kVars[] = {"BATCH_SIZE", "OUTPUT_URI", "GCS_BUCKET", "SOURCE_DATE_EPOCH", "EXCHANGES"};
  std::string dir_;
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

}  // namespace
}  // namespace mt::cli
