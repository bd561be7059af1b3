#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/domain/registry/staged-changes.ts
var StagedChanges = class {
  constructor(readBase, listBase) {
    this.readBase = readBase;
    this.listBase = listBase;
  }
  readBase;
  listBase;
  operations = /* @__PURE__ */ new Map();
  transaction() {
    return {
      read: async (file) => {
        checkRegistryPath(file);
        return this.apply(file, (await this.readBase([file]))[0]);
      },
      list: async (directory) => {
        const dir = checkRegistryDirectory(directory);
        const names = new Set(await this.listBase(dir));
        const prefix = dir === "" ? "" : `${dir}/`;
        for (const file of this.operations.keys()) {
          if (file.startsWith(prefix)) names.add(file.slice(prefix.length).split("/")[0]);
        }
        return [...names].sort();
      },
      write: (file, content) => this.stage(file, { kind: "write", content }),
      append: (file, line) => {
        if (line.includes("\n")) throw new Error(`registry: a line appended to ${file} contains a newline`);
        this.stage(file, { kind: "append", line });
      }
    };
  }
  /** The final text of every file whose content the change alters, in the order files were first changed. */
  async changedFiles() {
    const files = [...this.operations.keys()];
    const bases = await this.readBase(files);
    const changed = /* @__PURE__ */ new Map();
    files.forEach((file, i) => {
      const content = this.apply(file, bases[i]) ?? "";
      if (content !== bases[i]) changed.set(file, content);
    });
    return changed;
  }
  stage(file, operation) {
    checkRegistryPath(file);
    const list = this.operations.get(file) ?? [];
    list.push(operation);
    this.operations.set(file, list);
  }
  apply(file, base) {
    let text = base;
    for (const operation of this.operations.get(file) ?? []) text = operation.kind === "write" ? operation.content : appendLine(text ?? "", operation.line);
    return text;
  }
};
function appendLine(content, line) {
  return `${content === "" || content.endsWith("\n") ? content : `${content}
`}${line}
`;
}
function checkRegistryPath(file) {
  const segments = file.split("/");
  if (file === "" || segments.some((s) => s === "" || s === "." || s === "..") || /[\0\n]/.test(file)) {
    throw new Error(`registry: '${file}' is not a valid registry path`);
  }
}
function checkRegistryDirectory(directory) {
  const dir = directory.replace(/\/+$/, "");
  if (dir === "" || dir === ".") return "";
  checkRegistryPath(dir);
  return dir;
}

// src/adapters/registry/git/failures.ts
var GitCommandError = class extends Error {
  constructor(args, exitCode, output, timedOut = false) {
    super(`git ${args[0]} ${timedOut ? "passed its deadline" : `exited with ${exitCode}`}: ${output.trim()}`);
    this.args = args;
    this.exitCode = exitCode;
    this.output = output;
    this.timedOut = timedOut;
  }
  args;
  exitCode;
  output;
  timedOut;
};
function isLostRace(output) {
  return /\[rejected\]/.test(output) || /\[remote rejected\].*\((failed to update ref|cannot lock ref|incorrect old value|reference already exists)/i.test(output);
}
function isLockContention(output) {
  return /cannot lock ref|Unable to create '[^']*\.lock'/i.test(output);
}
function gitMessage(output) {
  return output.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !/^(hint:|To |Done$)/.test(line)).join("; ").slice(0, 800);
}
function plainReason(detail, timedOut = false) {
  if (timedOut || /Operation too slow|Operation timed out|timed out/i.test(detail)) return "the remote stopped answering (deadline passed)";
  if (/Authentication failed|could not read Username|Permission to .* denied|returned error: 40[13]|Permission denied \(publickey/i.test(detail)) {
    return "the remote refused the credentials (can they write to the repository?)";
  }
  if (/Could not resolve host|Connection refused|Failed to connect|does not appear to be a git repository|Could not read from remote|unable to access/i.test(detail)) {
    return "the remote is unreachable";
  }
  if (/\[remote rejected\]/.test(detail)) return "the remote refused the update (is the branch protected?)";
  return "git failed";
}
function backoff(attempt, attemptMs) {
  const ceiling = Math.min(100 * 2 ** (attempt - 1), Math.max(1e3, 4 * attemptMs));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export {
  StagedChanges,
  checkRegistryPath,
  checkRegistryDirectory,
  GitCommandError,
  isLostRace,
  isLockContention,
  gitMessage,
  plainReason,
  backoff
};
