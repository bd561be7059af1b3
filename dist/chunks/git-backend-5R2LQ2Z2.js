#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  GitCommandError,
  StagedChanges,
  backoff,
  checkRegistryDirectory,
  checkRegistryPath,
  gitMessage,
  isLockContention,
  isLostRace,
  plainReason
} from "./chunk-PIVOSDGJ.js";
import {
  runProcess,
  runProcessSync
} from "./chunk-U6HHBLXE.js";
import {
  networkTimeoutSeconds
} from "./chunk-TPGXKFNT.js";
import {
  SecretMasker,
  redactCredentials,
  redactUrl,
  urlCredentials
} from "./chunk-5RO3G7CI.js";
import {
  ConfigurationError,
  InfrastructureError,
  describeError,
  errnoCode
} from "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";

// src/adapters/registry/git/git-backend.ts
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// src/adapters/registry/git/objects.ts
var isTree = (entry) => entry.mode === "40000";
var isBlob = (entry) => entry.mode.startsWith("100");
function parseBatch(output, count) {
  const objects = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const end = output.indexOf(10, offset);
    if (end < 0) throw new Error("git cat-file --batch ended early");
    const header = output.toString("utf8", offset, end);
    offset = end + 1;
    const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!match) {
      objects.push(void 0);
      continue;
    }
    const size = Number(match[2]);
    objects.push({ type: match[1], content: output.subarray(offset, offset + size) });
    offset += size + 1;
  }
  return objects;
}
function parseTree(content, oidBytes) {
  const entries = /* @__PURE__ */ new Map();
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(32, offset);
    const nul = content.indexOf(0, space);
    if (space < 0 || nul < 0) throw new Error("git tree object is malformed");
    const mode = content.toString("latin1", offset, space);
    const name = content.toString("utf8", space + 1, nul);
    entries.set(name, { mode, oid: content.toString("hex", nul + 1, nul + 1 + oidBytes) });
    offset = nul + 1 + oidBytes;
  }
  return entries;
}
function parseMarks(text) {
  return new Map(
    text.split("\n").filter((line) => line !== "").map((line) => {
      const [mark, oid] = line.split(" ");
      return [Number(mark.slice(1)), oid];
    })
  );
}
function fastImportBlobs(contents) {
  return Buffer.concat([
    ...contents.flatMap((content, i) => {
      const data = Buffer.from(content, "utf8");
      return [Buffer.from(`blob
mark :${i + 1}
data ${data.length}
`), data, Buffer.from("\n")];
    }),
    // With --done, input that ends before this (a broken pipe) fails instead of half-importing.
    Buffer.from("done\n")
  ]);
}
function parentOf(file) {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "" : file.slice(0, slash);
}
function baseName(file) {
  return file.slice(file.lastIndexOf("/") + 1);
}
function depthOf(dir) {
  return dir === "" ? 0 : dir.split("/").length;
}

// src/adapters/registry/git/git-backend.ts
var DEFAULT_REMOTE = "origin";
var DEFAULT_BRANCH = "mlship-registry";
var DEFAULT_AUTHOR = { name: "mlship", email: "mlship@localhost" };
var DEFAULT_MAX_ATTEMPTS = 30;
var MAX_FETCH_ATTEMPTS = 10;
var LOCAL_GIT_TIMEOUT_MS = 12e4;
var GIT_ENV = { LC_ALL: "C", GIT_TERMINAL_PROMPT: "0" };
var GitRegistryBackend = class {
  location;
  repository;
  remote;
  branch;
  author;
  maxAttempts;
  /** Where fetches land: one ref per remote and branch, outside refs/heads and refs/remotes. */
  localRef;
  /**
   * Pushes go to the remote's push URL rather than its name: pushing to a named remote would also
   * create refs/remotes/<remote>/<branch>, a ref of the user's.
   */
  pushUrl;
  /** Credentials of the remote's URLs, to scrub from anything git prints. */
  secrets = new SecretMasker();
  env;
  stallSeconds;
  /** The newest registry commit this instance knows; reads see it (undefined: empty registry). */
  head;
  loaded = false;
  loading;
  /** Fetches run one at a time per instance, since they all update the same local ref. */
  fetchQueue = Promise.resolve();
  constructor(options) {
    this.repository = path.resolve(options.repository);
    this.remote = options.remote ?? DEFAULT_REMOTE;
    this.branch = options.branch ?? DEFAULT_BRANCH;
    this.author = options.author ?? DEFAULT_AUTHOR;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.localRef = `refs/mlship/${this.remote}/${this.branch}`;
    this.env = options.env ?? process.env;
    this.stallSeconds = options.stallSeconds ?? networkTimeoutSeconds(this.env);
    const { url, pushUrl } = this.checkConfiguration();
    this.pushUrl = pushUrl;
    this.secrets.addAll([...urlCredentials(url), ...urlCredentials(pushUrl)]);
    this.location = `git ${redactUrl(url)} branch ${this.branch}`;
  }
  async read(file) {
    const [content] = await this.readMany([file]);
    return content;
  }
  /** The contents of many files at once (undefined for absent ones), in the order asked. */
  async readMany(files) {
    files.forEach(checkRegistryPath);
    return this.readAt(await this.current(), files);
  }
  async list(directory) {
    return this.listAt(await this.current(), checkRegistryDirectory(directory));
  }
  async update(message, change) {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const parent = await this.fetchLatest();
      await this.advance(parent);
      const staged = new StagedChanges(
        (files) => this.readAt(parent, files),
        (directory) => this.listAt(parent, directory)
      );
      await change(staged.transaction());
      const changed = await staged.changedFiles();
      if (changed.size === 0) return;
      const commit = await this.commit(parent, changed, message);
      if (await this.push(commit)) {
        await this.runGit(["update-ref", this.localRef, commit, parent ?? ""]).catch(() => {
        });
        await this.advance(commit);
        return;
      }
      if (attempt >= this.maxAttempts) {
        throw new InfrastructureError(
          `registry ${this.location}: gave up after ${attempt} attempts, because other writers kept updating the branch first`
        );
      }
      await sleep(backoff(attempt, performance.now() - started));
    }
  }
  /** The newest commit this instance knows, fetching once before the first read. */
  async current() {
    if (!this.loaded) {
      this.loading ??= this.fetchLatest().then((commit) => this.advance(commit)).finally(() => {
        this.loading = void 0;
      });
      await this.loading;
    }
    return this.head;
  }
  /**
   * Moves `head` forward to `commit`, never back: concurrent updates of this instance finish in any
   * order, and a read after an update must see at least that update.
   */
  async advance(commit) {
    if (!this.loaded) {
      this.head = commit;
      this.loaded = true;
      return;
    }
    for (; ; ) {
      const known = this.head;
      if (commit === void 0 || commit === known) return;
      if (known !== void 0 && !await this.isAncestor(known, commit)) return;
      if (this.head === known) {
        this.head = commit;
        return;
      }
    }
  }
  async isAncestor(ancestor, descendant) {
    try {
      await this.runGit(["merge-base", "--is-ancestor", ancestor, descendant]);
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && error.exitCode === 1) return false;
      throw this.failure("compare registry commits", error);
    }
  }
  /** Fetches the branch into the local ref; the branch's commit, or undefined when it does not exist yet. */
  fetchLatest() {
    const fetched = this.fetchQueue.then(() => this.fetchOnce());
    this.fetchQueue = fetched.catch(() => void 0);
    return fetched;
  }
  async fetchOnce() {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runGit(
          [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            // An empty refmap keeps git from also updating refs/remotes/<remote>/<branch>.
            "--refmap=",
            "--",
            this.remote,
            `+refs/heads/${this.branch}:${this.localRef}`
          ],
          { network: true }
        );
        return (await this.runGit(["rev-parse", "--verify", `${this.localRef}^{commit}`])).toString().trim();
      } catch (error) {
        if (error instanceof GitCommandError && /couldn't find remote ref/i.test(error.output)) {
          return void 0;
        }
        if (error instanceof GitCommandError && isLockContention(error.output) && attempt < MAX_FETCH_ATTEMPTS) {
          await sleep(20 + Math.random() * 80);
          continue;
        }
        throw this.failure("fetch", error);
      }
    }
  }
  async readAt(commit, files) {
    if (commit === void 0 || files.length === 0) return files.map(() => void 0);
    try {
      const trees = await this.loadTrees(commit, files.map(parentOf));
      const blobs = files.map((file) => {
        const entry = trees.get(parentOf(file))?.get(baseName(file));
        return entry !== void 0 && isBlob(entry) ? entry.oid : void 0;
      });
      const wanted = [...new Set(blobs.filter((oid) => oid !== void 0))];
      const objects = await this.catFile(wanted);
      const contents = new Map(wanted.map((oid, i) => [oid, objects[i]?.content.toString("utf8")]));
      return blobs.map((oid) => oid === void 0 ? void 0 : contents.get(oid));
    } catch (error) {
      throw this.failure("read", error);
    }
  }
  async listAt(commit, directory) {
    if (commit === void 0) return [];
    try {
      const tree = (await this.loadTrees(commit, [directory])).get(directory);
      return tree ? [...tree.keys()].sort() : [];
    } catch (error) {
      throw this.failure("list", error);
    }
  }
  /**
   * The entries of `directories` (and their ancestors) in `commit`; absent ones are missing from
   * the map. Trees are walked from the root, one level per `git cat-file --batch`, each read once:
   * asking git for `<commit>:<path>` instead costs a scan of the directory per path, which takes
   * seconds for thousands of files in one directory.
   */
  async loadTrees(commit, directories) {
    const needed = /* @__PURE__ */ new Set();
    for (let dir of directories) {
      for (; dir !== ""; dir = parentOf(dir)) needed.add(dir);
      needed.add("");
    }
    const byDepth = [];
    for (const dir of needed) (byDepth[depthOf(dir)] ??= []).push(dir);
    const trees = /* @__PURE__ */ new Map();
    const oidBytes = commit.length / 2;
    for (const level of byDepth) {
      const dirs = (level ?? []).flatMap((dir) => {
        if (dir === "") return [{ dir, spec: `${commit}^{tree}` }];
        const entry = trees.get(parentOf(dir))?.get(baseName(dir));
        return entry !== void 0 && isTree(entry) ? [{ dir, spec: entry.oid }] : [];
      });
      const objects = await this.catFile(dirs.map(({ spec }) => spec));
      dirs.forEach(({ dir }, i) => {
        const object = objects[i];
        if (object?.type === "tree") trees.set(dir, parseTree(object.content, oidBytes));
      });
    }
    return trees;
  }
  /** The objects named by `specs`, through one `git cat-file --batch`; undefined for missing ones. */
  async catFile(specs) {
    if (specs.length === 0) return [];
    const output = await this.runGit(["cat-file", "--batch"], { input: specs.map((spec) => `${spec}
`).join("") });
    return parseBatch(output, specs.length);
  }
  /** A commit of `parent`'s tree with `files` written over it, built in a temporary index. */
  async commit(parent, files, message) {
    const scratch = await mkdtemp(path.join(tmpdir(), "mlship-registry-"));
    try {
      const names = [...files.keys()];
      const blobs = await this.writeBlobs(names.map((name) => files.get(name)), scratch);
      const index = { GIT_INDEX_FILE: path.join(scratch, "index") };
      await this.runGit(parent === void 0 ? ["read-tree", "--empty"] : ["read-tree", parent], { env: index });
      const entries = names.map((name, i) => `100644 blob ${blobs[i]}	${name}\0`).join("");
      await this.runGit(["update-index", "--add", "-z", "--index-info"], { input: entries, env: index });
      const tree = (await this.runGit(["write-tree"], { env: index })).toString().trim();
      const identity = {
        GIT_AUTHOR_NAME: this.author.name,
        GIT_AUTHOR_EMAIL: this.author.email,
        GIT_COMMITTER_NAME: this.author.name,
        GIT_COMMITTER_EMAIL: this.author.email
      };
      const parents = parent === void 0 ? [] : ["-p", parent];
      const commit = await this.runGit(["commit-tree", "--no-gpg-sign", tree, ...parents, "-m", message], { env: identity });
      return commit.toString().trim();
    } catch (error) {
      throw this.failure("write", error);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  /**
   * Stores the contents as blobs; their object ids, in order. One `git fast-import` takes them all
   * on its standard input (no temporary files), and writes loose objects for a few, a pack for many.
   */
  async writeBlobs(contents, scratch) {
    const marks = path.join(scratch, "marks");
    await this.runGit(["fast-import", "--quiet", "--done", `--export-marks=${marks}`], { input: fastImportBlobs(contents) });
    const oids = parseMarks(await readFile(marks, "utf8"));
    return contents.map((_, i) => {
      const oid = oids.get(i + 1);
      if (oid === void 0) throw new Error(`git fast-import stored no blob for mark :${i + 1}`);
      return oid;
    });
  }
  /** Pushes without force: true when it landed, false when another writer updated the branch first. */
  async push(commit) {
    try {
      await this.runGit(["push", "--porcelain", "--no-verify", "--", this.pushUrl, `${commit}:refs/heads/${this.branch}`], { network: true });
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && isLostRace(error.output)) return false;
      throw this.failure("push", error);
    }
  }
  /**
   * Runs git in the repository; rejects with GitCommandError when it exits non-zero or passes its
   * deadline. Commands that talk to the remote give up when no bytes move for `stallSeconds`
   * (git's own low-speed limit, for http) and in any case after ten times that (ssh, a hung helper).
   */
  async runGit(args, options = {}) {
    const deadline = options.network ? ["-c", "http.lowSpeedLimit=1", "-c", `http.lowSpeedTime=${this.stallSeconds}`] : [];
    const timeoutMs = options.network ? this.stallSeconds * 1e4 : LOCAL_GIT_TIMEOUT_MS;
    const result = await runProcess("git", [...deadline, ...args], {
      cwd: this.repository,
      env: { ...this.env, ...GIT_ENV, ...options.env },
      ...options.input === void 0 ? {} : { input: options.input },
      timeoutMs
    });
    if (result.exitCode === 0) return result.stdout;
    const output = Buffer.concat([result.stdout, result.stderr]).toString("utf8");
    throw new GitCommandError(args, result.exitCode, result.timedOut ? `${output}
killed after ${timeoutMs / 1e3} s` : output, result.timedOut);
  }
  /** An InfrastructureError naming the registry and saying, in plain words and git's, what failed. */
  failure(action, error) {
    if (error instanceof InfrastructureError) return error;
    const detail = error instanceof GitCommandError ? gitMessage(error.output) : describeError(error);
    const reason = errnoCode(error) === "ENOENT" ? "git is not installed or not on PATH" : plainReason(detail, error instanceof GitCommandError && error.timedOut);
    return new InfrastructureError(
      `registry ${this.location}: cannot ${action}: ${reason}${detail ? ` (${this.scrub(detail)})` : ""}`
    );
  }
  scrub(text) {
    return this.secrets.mask(redactCredentials(text));
  }
  /** The repository and remote must exist; returns the remote's URLs. */
  checkConfiguration() {
    if (this.remote.startsWith("-") || this.remote === "") {
      throw new ConfigurationError(`registry remote '${this.remote}' is not a remote name`);
    }
    if (!/^[^\s~^:?*[\\]+$/.test(this.branch) || this.branch.startsWith("-") || this.branch.includes("..")) {
      throw new ConfigurationError(`registry branch '${this.branch}' is not a valid branch name`);
    }
    if (!existsSync(this.repository)) {
      throw new ConfigurationError(`registry repository ${this.repository} does not exist`);
    }
    const git = (...args) => {
      let result;
      try {
        result = runProcessSync("git", args, { cwd: this.repository, env: { ...this.env, ...GIT_ENV }, timeoutMs: LOCAL_GIT_TIMEOUT_MS });
      } catch (error) {
        if (errnoCode(error) === "ENOENT") throw new ConfigurationError("git is not installed or not on PATH, and the registry needs it");
        throw new InfrastructureError(`git could not be run in ${this.repository}: ${describeError(error)}`, { cause: error });
      }
      return result.exitCode === 0 ? result.stdout.toString("utf8").trim() : void 0;
    };
    if (git("rev-parse", "--git-dir") === void 0) throw new ConfigurationError(`registry repository ${this.repository} is not a git repository`);
    const url = git("remote", "get-url", "--", this.remote);
    const pushUrl = git("remote", "get-url", "--push", "--", this.remote);
    if (url === void 0 || pushUrl === void 0) {
      throw new ConfigurationError(`registry remote '${this.remote}' is not configured in repository ${this.repository}`);
    }
    return { url, pushUrl };
  }
};
export {
  GitRegistryBackend
};
