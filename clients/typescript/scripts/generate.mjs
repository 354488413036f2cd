// Generates src/schema.ts (or the file named by the first argument) from docs/openapi.json.
//
// The document's JSONValue schema is recursive straight through an array (JSONValue[]), which
// TypeScript cannot resolve inside the generated `components` type; it is generated as a
// reference to a top-level alias, JsonValue, which TypeScript resolves lazily.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const DOCUMENT = new URL("../../../docs/openapi.json", import.meta.url);
const OUTPUT = process.argv[2] ?? fileURLToPath(new URL("../src/schema.ts", import.meta.url));
const JSON_VALUE = "#/components/schemas/JSONValue";

const HEADER = `/**
 * This file was auto-generated from docs/openapi.json by scripts/generate.mjs (npm run generate).
 * Do not make direct changes to the file.
 */

/** Any JSON value: the document's recursive JSONValue schema. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

`;

const ast = await openapiTS(DOCUMENT, {
  transform(_schema, options) {
    return options.path === JSON_VALUE ? ts.factory.createTypeReferenceNode("JsonValue") : undefined;
  },
});
writeFileSync(OUTPUT, HEADER + astToString(ast));
