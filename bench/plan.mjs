// The plan of a statement as the server runs it, in one line.
//
// The statement's text is taken from pg_stat_activity, where an idle connection of the server's
// pool shows the last statement it ran, with its $1, $2… as sent: no copy of the SQL to drift
// from the server's. It is then prepared in a psql session, executed 5 times, and its 6th
// execution explained with ANALYZE and BUFFERS: from the 6th on, PostgreSQL's plan cache
// chooses between a generic and a custom plan as it does for the server's own prepared
// statement, which has run hundreds of times by then.
//
// (auto_explain would log the server's own executions, but it is loaded per session
// (session_preload_libraries) when a connection opens, after the pool's are open, and it
// would time every statement of the timed rounds.)

/** `explain` (EXPLAIN (FORMAT JSON)'s output, parsed or not) as one line: each node, its
 * children after `>`, siblings in `[a | b]`, rows where a scan or sort produced them, then the
 * statement's rows, time and buffers. */
export function planShape(explain) {
  const parsed = typeof explain === "string" ? JSON.parse(explain) : explain;
  const top = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!top?.Plan) throw new Error("not an EXPLAIN (FORMAT JSON) result: no Plan");
  const plan = top.Plan;
  const totals = [`${group(plan["Actual Rows"] ?? 0)} rows`];
  const ms = top["Execution Time"] ?? plan["Actual Total Time"];
  if (ms !== undefined) totals.push(`${ms.toFixed(1)} ms`);
  if (plan["Shared Hit Blocks"] !== undefined) {
    totals.push(`buffers ${group(plan["Shared Hit Blocks"])} hit, ${group(plan["Shared Read Blocks"])} read`);
  }
  return `${shape(plan)} (${totals.join(", ")})`;
}

function shape(node) {
  const children = (node.Plans ?? []).map((child) =>
    child["Parent Relationship"] === "SubPlan" || child["Parent Relationship"] === "InitPlan"
      ? `${child["Subplan Name"] ?? child["Parent Relationship"]}: ${shape(child)}`
      : shape(child),
  );
  const label = describe(node);
  if (children.length === 0) return label;
  if (children.length === 1) return `${label} > ${children[0]}`;
  return `${label} [${children.join(" | ")}]`;
}

function describe(node) {
  let label = node["Node Type"];
  // As psql prints them: "Index Scan using INDEX on TABLE", "Bitmap Index Scan on INDEX".
  if (node["Node Type"] === "Bitmap Index Scan") label += ` on ${node["Index Name"]}`;
  else if (node["Index Name"]) label += ` using ${node["Index Name"]}`;
  if (node["Relation Name"]) label += ` on ${node["Relation Name"]}`;
  if (node["Sort Method"]) label += ` ${node["Sort Method"]}`;
  const produced = /Scan|Sort/.test(node["Node Type"]) && node["Actual Rows"] !== undefined;
  if (produced) {
    const loops = node["Actual Loops"] ?? 1;
    const rows = node["Actual Rows"];
    label += loops > 1 ? ` (${group(loops)} × ${group(rows)} rows)` : ` (${group(rows)} ${rows === 1 ? "row" : "rows"})`;
  }
  return label;
}

/** 1234567 as "1 234 567", as the README writes numbers. */
function group(n) {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/**
 * The text of the statement another connection of this database last ran that contains
 * `fragment`, from pg_stat_activity; null when none shows it. `runSql(sql)` runs one
 * statement in psql and returns its unaligned output.
 */
export function serverStatement(runSql, fragment) {
  const text = runSql(
    `select query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() ` +
      `and position(${literal(fragment)} in query) > 0 order by state_change desc limit 1`,
  );
  if (!text) return null;
  // pg_stat_activity keeps track_activity_query_size bytes (1024 by default) of each statement.
  const kept = Number(runSql("select setting from pg_settings where name = 'track_activity_query_size'"));
  if (Buffer.byteLength(text) >= kept - 1) throw new Error(`the statement is longer than pg_stat_activity keeps (${kept} bytes)`);
  return text;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of `sql`'s 6th execution with `params` ($1, $2…),
 * prepared in one psql session. `runScript(script)` runs a psql script and returns its
 * unaligned output.
 */
export function explainPrepared(runScript, sql, params) {
  const statement = sql.trim().replace(/;+$/, "");
  const placeholders = new Set(statement.match(/\$\d+/g) ?? []);
  if (placeholders.size !== params.length) {
    throw new Error(`the statement takes ${placeholders.size} parameters, ${params.length} given`);
  }
  const execute = `execute haul_plan_probe(${params.map(literal).join(", ")});`;
  const output = runScript(
    [
      `prepare haul_plan_probe as ${statement};`,
      "\\o /dev/null",
      ...Array(5).fill(execute),
      "\\o",
      `explain (analyze, buffers, format json) ${execute}`,
      "deallocate haul_plan_probe;",
    ].join("\n"),
  );
  return JSON.parse(output);
}

function literal(value) {
  return typeof value === "number" ? String(value) : `'${String(value).replaceAll("'", "''")}'`;
}
