// bench/plan.mjs's one-line plan, on EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output captured
// from PostgreSQL 15 with make bench-admin's seed (a million files): the admin file list with
// the name filter "invoice-12" when the owner's email was a join and now that it is a subquery,
// and with "report", which walks the date index.
//
//   node --test end2end/unit/plan-shape.test.mjs

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { explainPrepared, planShape } from "../../bench/plan.mjs";

const fixture = (name) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");

test("a hash join's two sides are siblings", () => {
  assert.equal(
    planShape(fixture("explain-name-filter-join.json")),
    "Limit > Sort top-N heapsort (51 rows) > Hash Join [Bitmap Heap Scan on file (1 388 rows) > " +
      "Bitmap Index Scan on file_name_trgm_idx (1 388 rows) | Hash > Seq Scan on app_user (10 001 rows)] " +
      "(51 rows, 24.3 ms, buffers 2 074 hit, 0 read)",
  );
});

test("a subplan is named, with its loops", () => {
  assert.equal(
    planShape(JSON.parse(fixture("explain-name-filter-subquery.json"))),
    "Limit > Result [Sort top-N heapsort (51 rows) > Bitmap Heap Scan on file (1 388 rows) > " +
      "Bitmap Index Scan on file_name_trgm_idx (1 388 rows) | " +
      "SubPlan 1: Index Scan using app_user_pkey on app_user (51 × 1 rows)] " +
      "(51 rows, 20.1 ms, buffers 1 882 hit, 0 read)",
  );
});

test("an index scan names its index and table", () => {
  assert.equal(
    planShape(fixture("explain-report-date-walk.json")),
    "Limit > Nested Loop [Index Scan using file_listing_idx on file (51 rows) | " +
      "Memoize > Index Scan using app_user_pkey on app_user (51 × 1 rows)] (51 rows, 0.9 ms, buffers 563 hit, 0 read)",
  );
});

test("auto_explain's object and a plan without ANALYZE are read too", () => {
  const plan = { "Node Type": "Seq Scan", "Relation Name": "file", "Plan Rows": 10 };
  assert.equal(planShape({ "Query Text": "select", Plan: plan }), "Seq Scan on file (0 rows)");
  assert.throws(() => planShape([{}]), /no Plan/);
});

test("the prepared statement runs 5 times before the explained 6th, with its parameters", () => {
  let script;
  const explain = explainPrepared(
    (s) => {
      script = s;
      return fixture("explain-name-filter-subquery.json");
    },
    "select 1 from file f where f.name ilike $1 limit $2;",
    ["%it's%", 51],
  );
  assert.equal(explain[0].Plan["Node Type"], "Limit");
  const lines = script.split("\n");
  assert.equal(lines[0], "prepare haul_plan_probe as select 1 from file f where f.name ilike $1 limit $2;");
  assert.equal(lines.filter((l) => l === "execute haul_plan_probe('%it''s%', 51);").length, 5);
  assert.match(lines.at(-2), /^explain \(analyze, buffers, format json\) execute haul_plan_probe\('%it''s%', 51\);$/);
  assert.throws(() => explainPrepared(() => "[]", "select $1, $2", ["x"]), /2 parameters, 1 given/);
});
