import type { RegistryBackend } from './backend.js';
import {
  ALIAS_NAME,
  type AliasMove,
  type AliasRecord,
  type DeploymentRecord,
  type EnvironmentRecord,
  type ImageRecord,
  type LedgerEntry,
  type LockRecord,
  type ModelVersionRecord,
  type RunRecord,
  type SmokeRecord,
} from './records.js';

/**
 * The model registry over any backend. Layout, one file per fact, so every question is one read:
 *
 *   runs/<run-id>.json              a run record (ids sort by time)
 *   run-keys/<key-hex>              the id of the latest successful run with that key (cache lookups)
 *   models/<model-hex>.json         a model version: the run that made it, its data, code and metrics
 *   model-runs/<model-hex>          every successful run that produced those bytes, one id a line, oldest first
 *   aliases/<name>.json             where an alias points now
 *   history/aliases.jsonl           every alias move ever made, append-only
 *   deployments/<id>.json           a deployment: environment, digest, model, previous, outcome, who, when
 *   environments/<name>.json        what mlship last deployed there successfully (the deployment, digest, URL)
 *   smoke/<deployment-id>.jsonl     the smoke tests of a deployment, append-only
 *   history/ledger.jsonl            every deployment, smoke test, promotion and rollback, append-only
 *   locks/<environment>.json        who promotes or rolls back an environment now, until when
 */
export class Registry {
  /**
   * `redact` is applied to every record before it is written (the run's log tail, params, failure
   * messages, reasons): the registry is shared, and on a git remote it is readable by everyone
   * who can read the repository, so no secret may reach it.
   */
  constructor(
    readonly backend: RegistryBackend,
    private readonly redact: <T>(record: T) => T = (record) => record,
  ) {}

  get location(): string {
    return this.backend.location;
  }

  /** Records a run; a successful one also becomes the run for its key and registers its model. */
  async recordRun(run: RunRecord, model?: ModelVersionRecord): Promise<void> {
    await this.backend.update(`run ${run.id} ${run.status}`, async (tx) => {
      tx.write(`runs/${run.id}.json`, json(this.redact(run)));
      if (run.status !== 'succeeded') return;
      if (model && (await tx.read(modelPath(model.version))) === undefined) tx.write(modelPath(model.version), json(this.redact(model)));
      if (run.modelVersion) tx.append(`model-runs/${hex(run.modelVersion)}`, run.id);
      tx.write(`run-keys/${hex(run.key)}`, `${run.id}\n`);
    });
  }

  async run(id: string): Promise<RunRecord | undefined> {
    return parse<RunRecord>(await this.backend.read(`runs/${id}.json`));
  }

  /** The latest successful run with this key, if any. */
  async runForKey(key: string): Promise<RunRecord | undefined> {
    const id = (await this.backend.read(`run-keys/${hex(key)}`))?.trim();
    return id ? this.run(id) : undefined;
  }

  /** Run ids, newest first. */
  async runIds(): Promise<string[]> {
    return (await this.backend.list('runs')).map((name) => name.replace(/\.json$/, '')).reverse();
  }

  async model(version: string): Promise<ModelVersionRecord | undefined> {
    return parse<ModelVersionRecord>(await this.backend.read(modelPath(version)));
  }

  /** Every model version, as `sha256:<hex>`, in no particular order. */
  async modelVersions(): Promise<string[]> {
    return (await this.backend.list('models')).filter((name) => name.endsWith('.json')).map((name) => `sha256:${name.slice(0, -5)}`);
  }

  /** Ids of every successful run that produced this model version, newest first. */
  async modelRuns(version: string): Promise<string[]> {
    const text = await this.backend.read(`model-runs/${hex(version)}`);
    const ids = (text ?? '').split('\n').filter(Boolean);
    if (ids.length === 0) {
      // Registries written before the index: the model record names the run that first produced it.
      const model = await this.model(version);
      return model ? [model.runId] : [];
    }
    return [...new Set(ids)].sort().reverse();
  }

  /** The aliases that point at this model version now. */
  async aliasesOf(version: string): Promise<AliasRecord[]> {
    const names = (await this.backend.list('aliases')).filter((name) => name.endsWith('.json'));
    const records = await Promise.all(names.map((name) => this.alias(name.slice(0, -5))));
    return records.filter((alias): alias is AliasRecord => alias?.version === version);
  }

  /** Adds a built (and pushed) image to its model version's record. */
  async recordImage(version: string, image: ImageRecord): Promise<void> {
    await this.backend.update(`image ${image.repository}@${image.digest || image.tags[0]}`, async (tx) => {
      const model = parse<ModelVersionRecord>(await tx.read(modelPath(version)));
      if (!model) throw new RangeError(`no model version ${version}`);
      const others = (model.images ?? []).filter((i) => !(i.repository === image.repository && i.digest === image.digest && image.digest !== ''));
      tx.write(modelPath(version), json(this.redact({ ...model, images: [...others, image] })));
    });
  }

  async alias(name: string): Promise<AliasRecord | undefined> {
    return parse<AliasRecord>(await this.backend.read(`aliases/${name}.json`));
  }

  /** Every alias, by name. */
  async aliases(): Promise<AliasRecord[]> {
    const names = (await this.backend.list('aliases')).filter((name) => name.endsWith('.json'));
    const records = await Promise.all(names.map((name) => this.alias(name.replace(/\.json$/, ''))));
    return records.filter((record): record is AliasRecord => record !== undefined);
  }

  /** Points an alias at a registered model version and records the move. */
  async setAlias(name: string, version: string, who: { by: string; at: string; reason?: string; runId?: string }): Promise<AliasMove> {
    if (!ALIAS_NAME.test(name)) throw new RangeError(`alias name ${JSON.stringify(name)}`);
    let move: AliasMove | undefined;
    await this.backend.update(`alias ${name} → ${version}`, async (tx) => {
      const current = parse<AliasRecord>(await tx.read(`aliases/${name}.json`));
      const record: AliasRecord = {
        alias: name,
        version,
        ...(who.runId ? { runId: who.runId } : {}),
        setAt: who.at,
        setBy: who.by,
        ...(who.reason ? { reason: who.reason } : {}),
      };
      move = { alias: name, from: current?.version ?? null, to: version, at: who.at, by: who.by, ...(who.reason ? { reason: who.reason } : {}) };
      tx.write(`aliases/${name}.json`, json(this.redact(record)));
      tx.append('history/aliases.jsonl', JSON.stringify(this.redact(move)));
    });
    return move!;
  }

  /**
   * Records a deployment in one change: the record, its ledger line, and — only when it deployed —
   * the environment's pointer and the alias named after the environment. A failed deployment
   * leaves both where they were.
   */
  async recordDeployment(record: DeploymentRecord, url: string): Promise<void> {
    await this.backend.update(`deployment ${record.id} ${record.environment} ${record.outcome}`, async (tx) => {
      tx.write(`deployments/${record.id}.json`, json(this.redact(record)));
      const entry: LedgerEntry = {
        kind: record.kind ?? 'deployment',
        id: record.id,
        environment: record.environment,
        at: record.finishedAt,
        by: record.by,
        summary:
          `${record.outcome}: ${record.image} (model ${hex(record.modelVersion).slice(0, 12)}) from ${record.previousDigest ?? 'nothing'}` +
          `${record.fromEnvironment ? ` (promoted from ${record.fromEnvironment})` : ''}${record.unchanged ? ', already serving' : ''}${record.breach ? `; ${record.breach}` : ''}`,
      };
      tx.append('history/ledger.jsonl', JSON.stringify(this.redact(entry)));
      // What serves changed only when a deployment or promotion succeeded, or a rollback did.
      const moved = record.outcome === 'deployed' || record.outcome === 'promoted' || (record.kind === 'rollback' && record.outcome === 'rolled_back');
      if (!moved) return;
      const pointer: EnvironmentRecord = {
        environment: record.environment,
        deploymentId: record.id,
        image: record.image,
        digest: record.digest,
        modelVersion: record.modelVersion,
        url,
        deployedAt: record.finishedAt,
      };
      tx.write(`environments/${record.environment}.json`, json(this.redact(pointer)));
      if (!ALIAS_NAME.test(record.environment)) return;
      const current = parse<AliasRecord>(await tx.read(`aliases/${record.environment}.json`));
      if (current?.version === record.modelVersion && current.runId === record.runId) return;
      const reason = `deployment ${record.id}`;
      tx.write(`aliases/${record.environment}.json`, json(this.redact<AliasRecord>({ alias: record.environment, version: record.modelVersion, ...(record.runId ? { runId: record.runId } : {}), setAt: record.finishedAt, setBy: record.by, reason })));
      tx.append('history/aliases.jsonl', JSON.stringify(this.redact<AliasMove>({ alias: record.environment, from: current?.version ?? null, to: record.modelVersion, at: record.finishedAt, by: record.by, reason })));
    });
  }

  async deployment(id: string): Promise<DeploymentRecord | undefined> {
    return parse<DeploymentRecord>(await this.backend.read(`deployments/${id}.json`));
  }

  /** Every deployment, promotion and rollback of an environment, newest first. */
  async deploymentsOf(environment: string): Promise<DeploymentRecord[]> {
    const ids = (await this.ledger()).filter((e) => e.environment === environment && e.kind !== 'smoke').map((e) => e.id);
    const records = await Promise.all([...new Set(ids)].reverse().map((id) => this.deployment(id)));
    return records.filter((r): r is DeploymentRecord => r !== undefined);
  }

  /** The last successful deployment mlship made to an environment. */
  async environment(name: string): Promise<EnvironmentRecord | undefined> {
    return parse<EnvironmentRecord>(await this.backend.read(`environments/${name}.json`));
  }

  async recordSmoke(record: SmokeRecord): Promise<void> {
    await this.backend.update(`smoke ${record.id} ${record.passed ? 'passed' : 'failed'}`, async (tx) => {
      tx.append(`smoke/${record.deploymentId ?? 'unattached'}.jsonl`, JSON.stringify(this.redact(record)));
      const entry: LedgerEntry = {
        kind: 'smoke',
        id: record.id,
        environment: record.environment,
        at: record.at,
        by: record.by,
        summary: `${record.passed ? 'passed' : 'failed'} against ${record.url}${record.deploymentId ? ` (deployment ${record.deploymentId})` : ''}`,
      };
      tx.append('history/ledger.jsonl', JSON.stringify(this.redact(entry)));
    });
  }

  /** The smoke tests of a deployment, oldest first. */
  async smokeRecords(deploymentId: string): Promise<SmokeRecord[]> {
    return lines<SmokeRecord>(await this.backend.read(`smoke/${deploymentId}.jsonl`));
  }

  /** The ledger, oldest first. */
  async ledger(): Promise<LedgerEntry[]> {
    return lines<LedgerEntry>(await this.backend.read('history/ledger.jsonl'));
  }

  /**
   * Takes the lock of an environment when it is free, released or expired (or already ours): one
   * compare-and-set through the backend's transaction, so two writers never both win. The holder
   * now, in any case.
   */
  async lock(request: LockRecord, now: Date): Promise<{ acquired: boolean; holder: LockRecord }> {
    let result: { acquired: boolean; holder: LockRecord } | undefined;
    await this.backend.update(`lock ${request.name} by ${request.holder}`, async (tx) => {
      const current = parse<LockRecord>(await tx.read(`locks/${request.name}.json`));
      const free = !current || current.released === true || Date.parse(current.expiresAt) <= now.getTime() || current.token === request.token;
      result = free ? { acquired: true, holder: request } : { acquired: false, holder: current };
      if (free) tx.write(`locks/${request.name}.json`, json(this.redact(request)));
    });
    return result!;
  }

  /** Releases the lock if it is still ours (a taken-over lock is left to its new holder). */
  async unlock(name: string, token: string): Promise<void> {
    await this.backend.update(`unlock ${name}`, async (tx) => {
      const current = parse<LockRecord>(await tx.read(`locks/${name}.json`));
      if (current?.token === token && !current.released) tx.write(`locks/${name}.json`, json({ ...current, released: true }));
    });
  }

  /** Every alias move, oldest first (optionally of one alias). */
  async aliasHistory(name?: string): Promise<AliasMove[]> {
    const text = (await this.backend.read('history/aliases.jsonl')) ?? '';
    const moves = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AliasMove);
    return name === undefined ? moves : moves.filter((m) => m.alias === name);
  }
}

function hex(hash: string): string {
  return hash.replace(/^sha256:/, '');
}

function modelPath(version: string): string {
  return `models/${hex(version)}.json`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function parse<T>(text: string | undefined): T | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

function lines<T>(text: string | undefined): T[] {
  return (text ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}
