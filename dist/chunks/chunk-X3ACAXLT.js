#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/adapters/runtime/node-warnings.ts
function dropBundledUrlParseWarning() {
  const emit = process.emitWarning;
  process.emitWarning = function(warning, ...rest) {
    const code = typeof rest[0] === "object" && rest[0] !== null ? rest[0].code : rest[1];
    if (code === "DEP0169") return;
    emit.call(this, warning, ...rest);
  };
}

export {
  dropBundledUrlParseWarning
};
