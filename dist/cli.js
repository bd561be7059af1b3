#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
const require = __mlshipCreateRequire(import.meta.url);

// src/cli.ts
import module from "node:module";
module.enableCompileCache?.();
await import("./chunks/run-cli-FJDKBVDQ.js");
