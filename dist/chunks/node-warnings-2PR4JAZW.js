#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  dropBundledUrlParseWarning
} from "./chunk-X3ACAXLT.js";
import "./chunk-GXDHUWLY.js";
export {
  dropBundledUrlParseWarning
};
