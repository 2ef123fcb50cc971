// `market-tick sql`: prints ready-made DuckDB views or BigQuery external
// tables over a store (pipeline/sql_views.h); reads the store, writes nothing.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/plan.h"
#include "pipeline/sql_views.h"

namespace mt::cli {

int RunSql(const ParsedArgs& args, Context& ctx) {
  auto fail = [](const Status& st) { return FailWith("sql", st); };
  pipeline::SqlViewsOptions opts;
  const std::string engine = args.Value("engine", ctx.config);
  if (engine == "bigquery") {
    opts.engine = pipeline::SqlEngine::kBigQuery;
  } else if (engine != "duckdb") {
    return fail(Status::Usage("--engine must be duckdb or bigquery, not '" + engine + "'"));
  }
  if (args.Has("data-types")) {
    opts.data_types = pipeline::SplitList(args.Get("data-types"));
    if (opts.data_types.empty()) return fail(Status::Usage("--data-types is empty"));
  }
  opts.dataset = args.Value("dataset", ctx.config);
  OutputStore out;
  auto uri = OutputUri(args, ctx);
  if (!uri.ok()) return fail(uri.status());
  out.output = *uri;
  auto where = storage::ResolveStoreUri(out.output);
  if (!where.ok()) return fail(where.status());
  auto config = StoreConfigFromContext(ctx);
  if (!config.ok()) return fail(config.status());
  out.store = std::move(*config);
  auto layout = LayoutFromArgs(args, ctx);
  if (!layout.ok()) return fail(layout.status());
  out.store.layout = *layout;
  if (where->kind == storage::StoreKind::kGcs) {
    opts.root = where->location;
  } else {
    // The views must work from any directory: an absolute path.
    std::error_code ec;
    opts.root = std::filesystem::absolute(where->location, ec).lexically_normal().generic_string();
    if (ec) return fail(Status::Usage("--output " + where->location + ": " + ec.message()));
  }
  while (opts.root.size() > 1 && opts.root.back() == '/') opts.root.pop_back();
  auto store = storage::OpenDataStore(out.output, out.store);
  if (!store.ok()) return fail(store.status());
  auto text = pipeline::SqlDefinitions(store->get(), opts);
  if (!text.ok()) return fail(text.status());
  std::fputs(text->c_str(), stdout);
  return kExitOk;
}

}  // namespace mt::cli
