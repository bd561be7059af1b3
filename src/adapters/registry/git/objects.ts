/**
 * git's object formats, as the registry reads them through `git cat-file --batch`: pure parsing,
 * no git process. Paths are registry paths (POSIX, relative to the branch's root).
 */

export interface GitObject {
  readonly type: string;
  readonly content: Buffer;
}

export interface TreeEntry {
  readonly mode: string;
  readonly oid: string;
}

export const isTree = (entry: TreeEntry): boolean => entry.mode === '40000';
/** Regular files (100644, 100755); symbolic links and submodules are not registry files. */
export const isBlob = (entry: TreeEntry): boolean => entry.mode.startsWith('100');

/** Parses `git cat-file --batch` output: `<oid> <type> <size>\n<content>\n`, or `<name> missing\n`. */
export function parseBatch(output: Buffer, count: number): (GitObject | undefined)[] {
  const objects: (GitObject | undefined)[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const end = output.indexOf(0x0a, offset);
    if (end < 0) throw new Error('git cat-file --batch ended early');
    const header = output.toString('utf8', offset, end);
    offset = end + 1;
    const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!match) {
      objects.push(undefined); // missing (or ambiguous)
      continue;
    }
    const size = Number(match[2]);
    objects.push({ type: match[1]!, content: output.subarray(offset, offset + size) });
    offset += size + 1;
  }
  return objects;
}

/** Parses a raw tree object: entries of `<mode> <name>\0<binary oid>`. */
export function parseTree(content: Buffer, oidBytes: number): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(0x20, offset);
    const nul = content.indexOf(0, space);
    if (space < 0 || nul < 0) throw new Error('git tree object is malformed');
    const mode = content.toString('latin1', offset, space);
    const name = content.toString('utf8', space + 1, nul);
    entries.set(name, { mode, oid: content.toString('hex', nul + 1, nul + 1 + oidBytes) });
    offset = nul + 1 + oidBytes;
  }
  return entries;
}

/** `git fast-import` marks file (`:<mark> <oid>` lines) as a map from mark to object id. */
export function parseMarks(text: string): Map<number, string> {
  return new Map(
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [mark, oid] = line.split(' ');
        return [Number(mark!.slice(1)), oid!] as const;
      }),
  );
}

/** A `git fast-import` stream storing each content as a blob with marks 1..n, ended by `done`. */
export function fastImportBlobs(contents: readonly string[]): Buffer {
  return Buffer.concat([
    ...contents.flatMap((content, i) => {
      const data = Buffer.from(content, 'utf8');
      return [Buffer.from(`blob\nmark :${i + 1}\ndata ${data.length}\n`), data, Buffer.from('\n')];
    }),
    // With --done, input that ends before this (a broken pipe) fails instead of half-importing.
    Buffer.from('done\n'),
  ]);
}

export function parentOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}

export function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}

export function depthOf(dir: string): number {
  return dir === '' ? 0 : dir.split('/').length;
}
