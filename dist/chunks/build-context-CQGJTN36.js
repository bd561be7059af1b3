#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  checkDockerfile,
  contextFiles
} from "./chunk-2UCMIGN7.js";
import "./chunk-ADXLCYMH.js";
import "./chunk-GXDHUWLY.js";
export {
  checkDockerfile,
  contextFiles
};
