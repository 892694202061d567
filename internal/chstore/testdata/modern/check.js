// Runs ddl.sql, loads the 18.16 server's rows (TSV exports), then queries.sql on chdb (current
// ClickHouse, embedded), writing each query's result to raw.N. See run.sh.
const fs = require("fs");
const path = require("path");
const { Session } = require(path.join(process.env.CHDB_DIR || path.join(process.env.HOME, ".cache/flowhunt-chdb"), "node_modules/chdb"));

const work = process.argv[2];
const sess = new Session(path.join(work, "chdb"));
console.log("chdb ClickHouse " + sess.query("SELECT version()", "TSV").trim());
const lines = (f) => fs.readFileSync(path.join(work, f), "utf8").split("\n").filter((l) => l.trim() !== "");

for (const q of lines("ddl.sql")) sess.query(q.replace(/;$/, ""), "TSV");
for (const t of ["flows", "manifest", "load_attempts"]) {
  const structure = fs.readFileSync(path.join(work, t + ".structure"), "utf8");
  sess.query(`INSERT INTO fhsql.${t} SELECT * FROM file('${path.join(work, t + ".tsv")}', 'TabSeparated', '${structure}')`, "TSV");
}
// Results go to files through the server itself (INTO OUTFILE), so binary FixedString bytes are
// written as they are, not through a JavaScript string; run.sh sorts them.
lines("queries.sql").forEach((q, i) => {
  q = q.replace(/;$/, "");
  if (q.startsWith("ALTER")) {
    sess.query(q, "TSV");
    fs.writeFileSync(path.join(work, "raw." + (i + 1)), "");
    return;
  }
  sess.query(`${q} INTO OUTFILE '${path.join(work, "raw." + (i + 1))}' FORMAT TabSeparated`, "TSV");
});
