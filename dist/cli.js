#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/cli.ts
import module from "node:module";
module.enableCompileCache?.();
var { dropBundledUrlParseWarning } = await import("./chunks/node-warnings-2PR4JAZW.js");
dropBundledUrlParseWarning();
await import("./chunks/run-cli-4IVS3DXS.js");
