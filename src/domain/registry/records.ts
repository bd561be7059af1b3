/** What the registry records. Plain JSON, versioned by `schema`, readable without mlship. */

export interface StoredOutput {
  /** Path relative to the repository, as configured in `train.outputs`. */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** `sha256:` + content hash (of the file, or of the directory's manifest). */
  readonly hash: string;
  readonly size: number;
  readonly files: number;
}

export interface GitIdentity {
  readonly sha: string;
  readonly ref: string;
  /** The committed code tree: what the run key hashes, so a rebase that changes no code still hits. */
  readonly tree: string;
  /** Tracked files differed from HEAD when the run started. */
  readonly dirty: boolean;
  /** sha256 of those differences, so a dirty tree never hits a clean run's cache. */
  readonly dirtyHash?: string;
  /** HEAD's committer date (ISO 8601): the reproducible "created" time of what is built from it. */
  readonly committedAt?: string;
  /**
   * `sha256:` of the files training depends on, as they were on disk (train.include minus
   * train.ignore): what the run key hashes of the code. Absent in records made before mlship 0.2.
   */
  readonly code?: string;
  /** How many files `code` covers. */
  readonly codeFiles?: number;
  /** The repository's web address (from origin), e.g. https://github.com/acme/churn. */
  readonly source?: string;
}

export type RunStatus = 'succeeded' | 'failed';

export interface RunRecord {
  readonly schema: 1;
  readonly id: string;
  readonly key: string;
  readonly project: string;
  readonly status: RunStatus;
  /** Why a failed run failed, in words. */
  readonly failure?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly command: string;
  readonly git: GitIdentity;
  readonly dataVersion: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Each param as the params file wrote it (`1.0`, not 1), nested names joined by dots; absent in older records. */
  readonly paramText?: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly modelVersion?: string;
  readonly outputs: { readonly model?: StoredOutput; readonly metrics?: StoredOutput; readonly predictions?: StoredOutput; readonly smoke?: StoredOutput };
  readonly host: string;
  readonly user: string;
  /** The last lines the training command printed. */
  readonly logTail: readonly string[];
}

export interface ModelVersionRecord {
  readonly schema: 1;
  /** `sha256:` + content hash of the model output. */
  readonly version: string;
  /** The run that first produced it. */
  readonly runId: string;
  readonly createdAt: string;
  readonly dataVersion: string;
  readonly gitSha: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly model: StoredOutput;
  /** Images built from this model version, newest last. */
  readonly images?: readonly ImageRecord[];
}

/** An image built from a model version, as the registry reported it after the push. */
export interface ImageRecord {
  readonly repository: string;
  readonly tags: readonly string[];
  /** `sha256:…` as the registry reported it; empty when the image was built but not pushed. */
  readonly digest: string;
  readonly builtAt: string;
  readonly gitSha: string;
  /** The run whose outputs the image carries. */
  readonly runId?: string;
  /** sha256 of everything the build used (context content, Dockerfile, target, args, labels): the same key is the same image. */
  readonly buildKey?: string;
}

export interface AliasRecord {
  readonly alias: string;
  readonly version: string;
  /** The run of that version the alias was set from (its newest then, unless one was named). */
  readonly runId?: string;
  readonly setAt: string;
  readonly setBy: string;
  readonly reason?: string;
}

/** One line of the append-only alias history. */
export interface AliasMove {
  readonly alias: string;
  readonly from: string | null;
  readonly to: string;
  readonly at: string;
  readonly by: string;
  readonly reason?: string;
}

/** Run ids sort by time: `20261123T101500Z-3fa9c2`. */
export function newRunId(now: Date, random: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random.slice(0, 6)}`;
}

export const RUN_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
export const MODEL_VERSION = /^sha256:[0-9a-f]{64}$/;
export const ALIAS_NAME = /^[a-z][a-z0-9._-]{0,62}$/;

/** The first 12 hex digits of a `sha256:` version or key, as people read and type them. */
export function shortVersion(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}

/** How a deployment, promotion or rollback ended. Only `deployed` and `promoted` move the environment's alias. */
export type DeploymentOutcome = 'deployed' | 'promoted' | 'rolled_back' | 'timed_out' | 'failed';

/** What put an image on an environment: a deploy, a promotion from another environment, a rollback. */
export type DeploymentKind = 'deployment' | 'promotion' | 'rollback';

/** One deployment of an image to an environment, as the ledger keeps it: who, when, from what to what, and how it ended. */
export interface DeploymentRecord {
  readonly schema: 1;
  /** Sorts by time, like run ids. */
  readonly id: string;
  /** Absent in records of `mlship deploy` made before promotions existed: a deployment. */
  readonly kind?: DeploymentKind;
  /** A promotion's source environment (absent for a direct `--image` promotion). */
  readonly fromEnvironment?: string | undefined;
  /** The smoke test the promotion relied on, or why it relied on none. */
  readonly smoke?: { readonly id?: string; readonly skipped?: boolean } | undefined;
  /** Why a promotion was rolled back or failed, quoted. */
  readonly breach?: string | undefined;
  /** What happened during a promotion or rollback, milliseconds from its start. */
  readonly timeline?: readonly { readonly atMs: number; readonly event: string }[] | undefined;
  readonly environment: string;
  readonly service: string;
  /** Where it was deployed (the engine's address, without credentials). */
  readonly engine: string;
  /** `repository@sha256:…`. */
  readonly image: string;
  readonly digest: string;
  readonly modelVersion: string;
  readonly dataVersion?: string | undefined;
  readonly runId?: string | undefined;
  readonly gitSha?: string | undefined;
  readonly previousDigest: string | null;
  readonly previousModelVersion: string | null;
  readonly outcome: DeploymentOutcome;
  /** What happened, in words (the verdict's message, a task's error). */
  readonly message: string;
  /** The digest already served: the deployment only verified it. */
  readonly unchanged: boolean;
  readonly by: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  /** The workflow run, when deployed from GitHub Actions. */
  readonly runUrl?: string | undefined;
}

/** What serves an environment now, as far as mlship deployed it: the last successful deployment. */
export interface EnvironmentRecord {
  readonly environment: string;
  readonly deploymentId: string;
  readonly image: string;
  readonly digest: string;
  readonly modelVersion: string;
  readonly url: string;
  readonly deployedAt: string;
}

/** One smoke test of a deployment. */
export interface SmokeRecord {
  readonly schema: 1;
  readonly id: string;
  readonly deploymentId: string | null;
  readonly environment: string | null;
  readonly url: string;
  readonly passed: boolean;
  readonly cases: { readonly file: string; readonly sha256: string; readonly count: number };
  readonly checks: readonly { readonly check: string; readonly threshold: string | null; readonly observed: string; readonly verdict: 'pass' | 'fail' | 'reported' }[];
  readonly by: string;
  readonly at: string;
  readonly runUrl?: string | undefined;
}

/** A line of the append-only ledger: every deployment, smoke test, promotion and rollback, in order. */
export interface LedgerEntry {
  readonly kind: 'deployment' | 'smoke' | 'promotion' | 'rollback';
  readonly id: string;
  readonly environment: string | null;
  readonly at: string;
  readonly by: string;
  readonly summary: string;
}

/** Who holds an environment while promoting or rolling back, until when. */
export interface LockRecord {
  readonly name: string;
  readonly token: string;
  readonly holder: string;
  readonly command: string;
  readonly acquiredAt: string;
  /** After this the lock is stale: its holder died without releasing it. */
  readonly expiresAt: string;
  readonly released?: boolean;
  readonly runUrl?: string | undefined;
}
