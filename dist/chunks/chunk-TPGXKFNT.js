#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/adapters/deadlines.ts
var DEFAULT_NETWORK_TIMEOUT_SECONDS = 30;
function networkTimeoutSeconds(env) {
  const value = Number(env.MLSHIP_NETWORK_TIMEOUT);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_NETWORK_TIMEOUT_SECONDS;
}

export {
  networkTimeoutSeconds
};
