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

export {
  StagedChanges,
  checkRegistryPath,
  checkRegistryDirectory
};
