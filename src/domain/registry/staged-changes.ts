import type { RegistryTransaction } from './backend.js';

type StagedOperation = { readonly kind: 'write'; readonly content: string } | { readonly kind: 'append'; readonly line: string };

/** Reads the committed state of many files at once (undefined for absent ones), in the order asked. */
export type ReadBase = (files: readonly string[]) => Promise<(string | undefined)[]>;

/**
 * A registry change, staged: its writes and appends in the order they were made, applied on top of
 * what the backend holds. Reads inside the transaction see them, and `changedFiles` gives the new
 * text of every file the change really alters. The one transaction of both backends, so a file
 * and a git registry give a change the same view of its own work and the same result.
 */
export class StagedChanges {
  private readonly operations = new Map<string, StagedOperation[]>();

  constructor(
    private readonly readBase: ReadBase,
    private readonly listBase: (directory: string) => Promise<string[]>,
  ) {}

  transaction(): RegistryTransaction {
    return {
      read: async (file) => {
        checkRegistryPath(file);
        return this.apply(file, (await this.readBase([file]))[0]);
      },
      list: async (directory) => {
        const dir = checkRegistryDirectory(directory);
        const names = new Set(await this.listBase(dir));
        const prefix = dir === '' ? '' : `${dir}/`;
        for (const file of this.operations.keys()) {
          if (file.startsWith(prefix)) names.add(file.slice(prefix.length).split('/')[0]!);
        }
        return [...names].sort();
      },
      write: (file, content) => this.stage(file, { kind: 'write', content }),
      append: (file, line) => {
        if (line.includes('\n')) throw new Error(`registry: a line appended to ${file} contains a newline`);
        this.stage(file, { kind: 'append', line });
      },
    };
  }

  /** The final text of every file whose content the change alters, in the order files were first changed. */
  async changedFiles(): Promise<Map<string, string>> {
    const files = [...this.operations.keys()];
    const bases = await this.readBase(files);
    const changed = new Map<string, string>();
    files.forEach((file, i) => {
      const content = this.apply(file, bases[i]) ?? '';
      if (content !== bases[i]) changed.set(file, content);
    });
    return changed;
  }

  private stage(file: string, operation: StagedOperation): void {
    checkRegistryPath(file);
    const list = this.operations.get(file) ?? [];
    list.push(operation);
    this.operations.set(file, list);
  }

  private apply(file: string, base: string | undefined): string | undefined {
    let text = base;
    for (const operation of this.operations.get(file) ?? []) text = operation.kind === 'write' ? operation.content : appendLine(text ?? '', operation.line);
    return text;
  }
}

/** A line after a file's content; a file that lacks a final newline gets one first. */
function appendLine(content: string, line: string): string {
  return `${content === '' || content.endsWith('\n') ? content : `${content}\n`}${line}\n`;
}

/** Registry paths are relative POSIX paths without `.`/`..` segments, as both backends store them. */
export function checkRegistryPath(file: string): void {
  const segments = file.split('/');
  if (file === '' || segments.some((s) => s === '' || s === '.' || s === '..') || /[\0\n]/.test(file)) {
    throw new Error(`registry: '${file}' is not a valid registry path`);
  }
}

/** A directory path, '' (or '.', '/') for the root; returned without a trailing slash. */
export function checkRegistryDirectory(directory: string): string {
  const dir = directory.replace(/\/+$/, '');
  if (dir === '' || dir === '.') return '';
  checkRegistryPath(dir);
  return dir;
}
