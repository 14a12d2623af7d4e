// Compile every *.schema.json of a directory with Ajv (JSON Schema 2020-12) in strict mode,
// with ajv-formats; print one JSON line: {"compiled": [...], "errors": {"name": "reason"}}.
// Usage: node ajv-compile.mjs DIR
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const dir = process.argv[2];
const compiled = [];
const errors = {};
for (const file of readdirSync(dir).filter((f) => f.endsWith(".schema.json")).sort()) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  try {
    ajv.compile(JSON.parse(readFileSync(join(dir, file), "utf8")));
    compiled.push(file);
  } catch (error) {
    errors[file] = String(error.message || error);
  }
}
console.log(JSON.stringify({ compiled, errors }));
