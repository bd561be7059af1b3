import type { RegistryBackend } from './backend.js';
import { ALIAS_NAME, type AliasMove, type AliasRecord, type ImageRecord, type ModelVersionRecord, type RunRecord } from './records.js';

/**
 * The model registry over any backend. Layout, one file per fact, so every question is one read:
 *
 *   runs/<run-id>.json              a run record (ids sort by time)
 *   run-keys/<key-hex>              the id of the latest successful run with that key (cache lookups)
 *   models/<model-hex>.json         a model version: the run that made it, its data, code and metrics
 *   aliases/<name>.json             where an alias points now
 *   history/aliases.jsonl           every alias move ever made, append-only
 */
export class Registry {
  constructor(readonly backend: RegistryBackend) {}

  get location(): string {
    return this.backend.location;
  }

  /** Records a run; a successful one also becomes the run for its key and registers its model. */
  async recordRun(run: RunRecord, model?: ModelVersionRecord): Promise<void> {
    await this.backend.update(`run ${run.id} ${run.status}`, async (tx) => {
      tx.write(`runs/${run.id}.json`, json(run));
      if (run.status !== 'succeeded') return;
      if (model && (await tx.read(modelPath(model.version))) === undefined) tx.write(modelPath(model.version), json(model));
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

  /** Adds a built (and pushed) image to its model version's record. */
  async recordImage(version: string, image: ImageRecord): Promise<void> {
    await this.backend.update(`image ${image.repository}@${image.digest || image.tags[0]}`, async (tx) => {
      const model = parse<ModelVersionRecord>(await tx.read(modelPath(version)));
      if (!model) throw new RangeError(`no model version ${version}`);
      const others = (model.images ?? []).filter((i) => !(i.repository === image.repository && i.digest === image.digest && image.digest !== ''));
      tx.write(modelPath(version), json({ ...model, images: [...others, image] }));
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
  async setAlias(name: string, version: string, who: { by: string; at: string; reason?: string }): Promise<AliasMove> {
    if (!ALIAS_NAME.test(name)) throw new RangeError(`alias name ${JSON.stringify(name)}`);
    let move: AliasMove | undefined;
    await this.backend.update(`alias ${name} → ${version}`, async (tx) => {
      const current = parse<AliasRecord>(await tx.read(`aliases/${name}.json`));
      const record: AliasRecord = { alias: name, version, setAt: who.at, setBy: who.by, ...(who.reason ? { reason: who.reason } : {}) };
      move = { alias: name, from: current?.version ?? null, to: version, at: who.at, by: who.by, ...(who.reason ? { reason: who.reason } : {}) };
      tx.write(`aliases/${name}.json`, json(record));
      tx.append('history/aliases.jsonl', JSON.stringify(move));
    });
    return move!;
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
