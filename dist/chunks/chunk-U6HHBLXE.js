#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/adapters/process/run.ts
import { spawn, spawnSync } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
var KILL_GRACE_MS = 5e3;
function runProcess(file, args, options) {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut: false, aborted: true });
      return;
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: definedOnly(options.env),
      stdio: ["pipe", "pipe", "pipe"],
      detached: options.ownProcessGroup === true,
      windowsHide: true
    });
    const stdout = [];
    const stderr = [];
    const lines = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    let timedOut = false;
    let aborted = false;
    let graceTimer;
    const kill = () => {
      const signalTree = (signal) => {
        try {
          if (options.ownProcessGroup && child.pid !== void 0) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
        }
      };
      signalTree("SIGTERM");
      graceTimer ??= setTimeout(() => signalTree("SIGKILL"), KILL_GRACE_MS);
      graceTimer.unref();
    };
    const deadline = options.timeoutMs === void 0 ? void 0 : setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const take = (stream, store) => (chunk) => {
      store.push(chunk);
      if (options.onLine) for (const line of lines[stream].push(chunk)) options.onLine(line, stream);
    };
    child.stdout.on("data", take("stdout", stdout));
    child.stderr.on("data", take("stderr", stderr));
    child.stdin.on("error", () => void 0);
    child.on("error", (error) => {
      clearTimeout(deadline);
      options.signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener("abort", onAbort);
      if (options.onLine) {
        for (const stream of ["stdout", "stderr"]) for (const line of lines[stream].end()) options.onLine(line, stream);
      }
      resolve({ exitCode, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), timedOut, aborted });
    });
    child.stdin.end(options.input ?? "");
  });
}
function runProcessSync(file, args, options) {
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    env: definedOnly(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
    ...options.timeoutMs === void 0 ? {} : { timeout: options.timeoutMs, killSignal: "SIGKILL" }
  });
  const timedOut = errnoOf(result.error) === "ETIMEDOUT";
  if (result.error && !timedOut) throw result.error;
  return { exitCode: result.status, signal: result.signal, stdout: result.stdout ?? Buffer.alloc(0), stderr: result.stderr ?? Buffer.alloc(0), timedOut, aborted: false };
}
function errnoOf(error) {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : void 0;
}
var LineSplitter = class {
  decoder = new StringDecoder("utf8");
  pending = "";
  push(chunk) {
    const parts = (this.pending + this.decoder.write(chunk)).split("\n");
    this.pending = parts.pop() ?? "";
    return parts.map(stripCarriageReturn);
  }
  end() {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    return rest === "" ? [] : [stripCarriageReturn(rest)];
  }
};
function stripCarriageReturn(line) {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
function definedOnly(env) {
  return Object.fromEntries(Object.entries(env).filter((entry) => entry[1] !== void 0));
}

export {
  runProcess,
  runProcessSync,
  LineSplitter
};
