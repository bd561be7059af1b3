import type { RegistryTransaction } from '../../domain/registry/backend.js';

type StagedOperation = { readonly kind: 'write'; readonly content: string } | { readonly kind: 'append'; readonly line: string };

/**
 * A transaction's writes and appends, in the order they were made, applied on top of what the
 * backend holds: reads inside the transaction see them, and `results` gives each file's new text.
 * Shared by the backends, so both give a change the same view of its own work.
 */
export class StagedChanges {
  private readonly operations = new Map<string, StagedOperation[]>();

  get empty(): boolean {
    return this.operations.size === 0;
  }

  transaction(
    readBase: (file: string) => Promise<string | undefined>,
    listBase: (directory: string) => Promise<string[]>,
  ): RegistryTransaction {
    return {
      read: (file) => this.apply(file, readBase),
      list: async (directory) => {
        const names = new Set(await listBase(directory));
        const prefix = `${directory.replace(/\/$/, '')}/`;
        for (const file of this.operations.keys()) {
          const rest = file.startsWith(prefix) ? file.slice(prefix.length) : undefined;
          if (rest !== undefined && !rest.includes('/')) names.add(rest);
        }
        return [...names].sort();
      },
      write: (file, content) => this.stage(file, { kind: 'write', content }),
      append: (file, line) => this.stage(file, { kind: 'append', line }),
    };
  }

  /** Every changed file with its final text, in the order files were first changed. */
  async results(readBase: (file: string) => Promise<string | undefined>): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (const file of this.operations.keys()) out.push([file, (await this.apply(file, readBase)) ?? '']);
    return out;
  }

  private stage(file: string, operation: StagedOperation): void {
    const list = this.operations.get(file) ?? [];
    list.push(operation);
    this.operations.set(file, list);
  }

  private async apply(file: string, readBase: (file: string) => Promise<string | undefined>): Promise<string | undefined> {
    const operations = this.operations.get(file);
    if (!operations) return readBase(file);
    let text = operations[0]!.kind === 'write' ? undefined : await readBase(file);
    for (const operation of operations) text = operation.kind === 'write' ? operation.content : `${text ?? ''}${operation.line}\n`;
    return text;
  }
}
