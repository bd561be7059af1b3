#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  BuildFailedError,
  REGISTRY_REFUSED_CREDENTIALS,
  buildImage,
  checkEngine,
  connectEngine,
  engineAddress,
  engineDeadlines,
  findImageByLabel,
  pullImage,
  pushImage,
  splitReference,
  tagImage
} from "./chunk-Q7XA2SVW.js";
import "./chunk-BPPGHQ47.js";
import "./chunk-TPGXKFNT.js";
import "./chunk-5RO3G7CI.js";
import "./chunk-TCQUISLK.js";
import "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";
export {
  BuildFailedError,
  REGISTRY_REFUSED_CREDENTIALS,
  buildImage,
  checkEngine,
  connectEngine,
  engineAddress,
  engineDeadlines,
  findImageByLabel,
  pullImage,
  pushImage,
  splitReference,
  tagImage
};
