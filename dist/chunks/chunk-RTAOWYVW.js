#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  ConfigurationError,
  errnoCode
} from "./chunk-JF4PWR4C.js";
import {
  __commonJS,
  __require,
  __toESM
} from "./chunk-GXDHUWLY.js";

// ../main/node_modules/@balena/dockerignore/ignore.js
var require_ignore = __commonJS({
  "../main/node_modules/@balena/dockerignore/ignore.js"(exports, module) {
    "use strict";
    var path2 = __require("path");
    var factory = (options) => new IgnoreBase(options);
    factory.default = factory;
    module.exports = factory;
    function make_array(subject) {
      return Array.isArray(subject) ? subject : [subject];
    }
    var REGEX_TRAILING_SLASH = /(?<=.)\/$/;
    var REGEX_TRAILING_BACKSLASH = /(?<=.)\\$/;
    var REGEX_TRAILING_PATH_SEP = path2.sep === "\\" ? REGEX_TRAILING_BACKSLASH : REGEX_TRAILING_SLASH;
    var KEY_IGNORE = typeof Symbol !== "undefined" ? /* @__PURE__ */ Symbol.for("dockerignore") : "dockerignore";
    function cleanPath(file) {
      return path2.normalize(file).replace(REGEX_TRAILING_PATH_SEP, "");
    }
    function toSlash(file) {
      if (path2.sep === "/") {
        return file;
      }
      return file.replace(/\\/g, "/");
    }
    function fromSlash(file) {
      if (path2.sep === "/") {
        return file;
      }
      return file.replace(/\//g, path2.sep);
    }
    var IgnoreBase = class {
      constructor({
        // https://github.com/kaelzhang/node-ignore/blob/5.1.4/index.js#L372
        ignorecase = true
      } = {}) {
        this._rules = [];
        this._ignorecase = ignorecase;
        this[KEY_IGNORE] = true;
        this._initCache();
      }
      _initCache() {
        this._cache = {};
      }
      // @param {Array.<string>|string|Ignore} pattern
      add(pattern) {
        this._added = false;
        if (typeof pattern === "string") {
          pattern = pattern.split(/\r?\n/g);
        }
        make_array(pattern).forEach(this._addPattern, this);
        if (this._added) {
          this._initCache();
        }
        return this;
      }
      // legacy
      addPattern(pattern) {
        return this.add(pattern);
      }
      _addPattern(pattern) {
        if (pattern && pattern[KEY_IGNORE]) {
          this._rules = this._rules.concat(pattern._rules);
          this._added = true;
          return;
        }
        if (this._checkPattern(pattern)) {
          const rule = this._createRule(pattern.trim());
          if (rule !== null) {
            this._added = true;
            this._rules.push(rule);
          }
        }
      }
      _checkPattern(pattern) {
        return pattern && typeof pattern === "string" && pattern.indexOf("#") !== 0 && pattern.trim() !== "";
      }
      filter(paths) {
        return make_array(paths).filter((path3) => this._filter(path3));
      }
      createFilter() {
        return (path3) => this._filter(path3);
      }
      ignores(path3) {
        return !this._filter(path3);
      }
      // https://github.com/moby/moby/blob/v19.03.8/builder/dockerignore/dockerignore.go#L41-L53
      // https://github.com/moby/moby/blob/v19.03.8/pkg/fileutils/fileutils.go#L29-L55
      _createRule(pattern) {
        const origin = pattern;
        let negative = false;
        if (pattern[0] === "!") {
          negative = true;
          pattern = pattern.substring(1).trim();
        }
        if (pattern.length > 0) {
          pattern = cleanPath(pattern);
          pattern = toSlash(pattern);
          if (pattern.length > 1 && pattern[0] === "/") {
            pattern = pattern.slice(1);
          }
        }
        if (negative) {
          pattern = "!" + pattern;
        }
        pattern = pattern.trim();
        if (pattern === "") {
          return null;
        }
        pattern = cleanPath(pattern);
        if (pattern[0] === "!") {
          if (pattern.length === 1) {
            return null;
          }
          negative = true;
          pattern = pattern.substring(1);
        } else {
          negative = false;
        }
        return {
          origin,
          pattern,
          // https://github.com/moby/moby/blob/v19.03.8/pkg/fileutils/fileutils.go#L54
          dirs: pattern.split(path2.sep),
          negative
        };
      }
      // @returns `Boolean` true if the `path` is NOT ignored
      _filter(path3) {
        if (!path3) {
          return false;
        }
        if (path3 in this._cache) {
          return this._cache[path3];
        }
        return this._cache[path3] = this._test(path3);
      }
      // @returns {Boolean} true if a file is NOT ignored
      // https://github.com/moby/moby/blob/v19.03.8/pkg/fileutils/fileutils.go#L62
      _test(file) {
        file = fromSlash(file);
        const parentPath = cleanPath(path2.dirname(file));
        const parentPathDirs = parentPath.split(path2.sep);
        let matched = false;
        this._rules.forEach((rule) => {
          let match = this._match(file, rule);
          if (!match && parentPath !== ".") {
            if (rule.dirs.includes("**")) {
              for (let i = rule.dirs.filter((x) => x !== "**").length; i <= parentPathDirs.length; i++) {
                match = match || this._match(parentPathDirs.slice(0, i).join(path2.sep), rule);
              }
            } else if (rule.dirs.length <= parentPathDirs.length) {
              match = this._match(parentPathDirs.slice(0, rule.dirs.length).join(path2.sep), rule);
            }
          }
          if (match) {
            matched = !rule.negative;
          }
        });
        return !matched;
      }
      // @returns {Boolean} true if a file is matched by a rule
      _match(file, rule) {
        return this._compile(rule).regexp.test(file);
      }
      // https://github.com/moby/moby/blob/v19.03.8/pkg/fileutils/fileutils.go#L139
      _compile(rule) {
        if (rule.regexp) {
          return rule;
        }
        let regStr = "^";
        let escapedSlash = path2.sep === "\\" ? "\\\\" : path2.sep;
        for (let i = 0; i < rule.pattern.length; i++) {
          const ch = rule.pattern[i];
          if (ch === "*") {
            if (rule.pattern[i + 1] === "*") {
              i++;
              if (rule.pattern[i + 1] === path2.sep) {
                i++;
              }
              if (rule.pattern[i + 1] === void 0) {
                regStr += ".*";
              } else {
                regStr += `(.*${escapedSlash})?`;
              }
            } else {
              regStr += `[^${escapedSlash}]*`;
            }
          } else if (ch === "?") {
            regStr += `[^${escapedSlash}]`;
          } else if (ch === "." || ch === "$") {
            regStr += `\\${ch}`;
          } else if (ch === "\\") {
            if (path2.sep === "\\") {
              regStr += escapedSlash;
              continue;
            }
            if (rule.pattern[i + 1] !== void 0) {
              regStr += "\\" + rule.pattern[i + 1];
              i++;
            } else {
              regStr += "\\";
            }
          } else {
            regStr += ch;
          }
        }
        regStr += "$";
        rule.regexp = new RegExp(regStr, this._ignorecase ? "i" : "");
        return rule;
      }
    };
  }
});

// src/adapters/docker/build-context.ts
var import_dockerignore = __toESM(require_ignore(), 1);
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, readlinkSync, lstatSync } from "node:fs";
import path from "node:path";
var dockerignore = import_dockerignore.default.default ?? import_dockerignore.default;
function contextFiles(contextDir, dockerfile) {
  let rules = "";
  try {
    rules = readFileSync(path.join(contextDir, ".dockerignore"), "utf8");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
  const ignore = dockerignore({ ignorecase: false }).add(".mlship").add(rules);
  const keep = /* @__PURE__ */ new Set([".dockerignore", dockerfile]);
  const out = [];
  const walk = (relative) => {
    const absolute = path.join(contextDir, relative);
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      const ignored = ignore.ignores(child) && !keep.has(child);
      if (entry.isDirectory()) {
        if (!ignored || rules.includes("!")) walk(child);
      } else if (!ignored) {
        out.push(child);
      }
    }
  };
  walk("");
  return out.sort();
}
function checkDockerfile(contextDir, dockerfile, where) {
  const relative = path.posix.normalize(dockerfile);
  if (relative.startsWith("../") || path.isAbsolute(relative)) {
    throw new ConfigurationError(`${where}: the Dockerfile "${dockerfile}" must be inside the build context ${contextDir}`);
  }
  let isFile = false;
  try {
    isFile = lstatSync(path.join(contextDir, relative)).isFile();
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
  if (!isFile) throw new ConfigurationError(`${where}: no Dockerfile at ${path.join(contextDir, relative)}`);
}
function contextDigest(contextDir, files) {
  const hash = createHash("sha256");
  for (const file of files) {
    const absolute = path.join(contextDir, file);
    const info = lstatSync(absolute);
    const content = info.isSymbolicLink() ? `symlink:${readlinkSync(absolute)}` : createHash("sha256").update(readFileSync(absolute)).digest("hex");
    hash.update(`${content} ${info.mode & 73 ? "x" : "-"} ${file}
`);
  }
  return `sha256:${hash.digest("hex")}`;
}

export {
  require_ignore,
  contextFiles,
  checkDockerfile,
  contextDigest
};
/*! For license information please see chunk-RTAOWYVW.js.LEGAL.txt */
