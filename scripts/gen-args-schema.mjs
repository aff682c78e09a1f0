// Writes schemas/args.schema.json from the ARGS field table (src/core/args/fields.ts), so the
// schema VS Code validates with and the extension's own validator share one source. Run after
// `tsc` (npm run gen:args-schema); test/unit/args/schema.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { argsJsonSchemaText } = require('../out/src/core/args/schema.js');
writeFileSync(new URL('../schemas/args.schema.json', import.meta.url), argsJsonSchemaText());
console.log('wrote schemas/args.schema.json');
