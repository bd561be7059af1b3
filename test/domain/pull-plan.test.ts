import { describe, expect, it } from 'vitest';
import { ancestorsOf, planPull, type LocalFile, type WantedFile } from '../../src/domain/data/pull-plan.js';

const wanted = (...files: [string, string][]): Map<string, WantedFile> =>
  new Map(files.map(([repoPath, hash]) => [repoPath, { repoPath, hash, size: 1 }]));
const local = (...files: [string, string][]): LocalFile[] => files.map(([repoPath, hash]) => ({ repoPath, hash }));
const paths = (list: readonly { repoPath: string }[]): string[] => list.map((f) => f.repoPath);

describe('planPull', () => {
  it.each([
    ['nothing to do when the disk matches', wanted(['d/a', '1']), local(['d/a', '1']), [], [], []],
    ['writes what is absent, without risk', wanted(['d/a', '1']), local(), ['d/a'], [], []],
    ['overwrites what differs; its local content is at risk', wanted(['d/a', '1']), local(['d/a', '2']), ['d/a'], [], ['d/a']],
    ['removes what the lock does not list; at risk too', wanted(), local(['d/x', '3']), [], ['d/x'], ['d/x']],
    ['a directory that became a file: the file goes, the files come', wanted(['d/a', '1'], ['d/b', '2']), local(['d', '9']), ['d/a', 'd/b'], ['d'], ['d']],
    ['a file that became a directory: its files go', wanted(['d/m', '1']), local(['d/m/w', '5']), ['d/m'], ['d/m/w'], ['d/m/w']],
  ])('%s', (_name, want, have, toWrite, toRemove, atRisk) => {
    const plan = planPull(want, have, []);
    expect(paths(plan.toWrite)).toEqual(toWrite);
    expect(paths(plan.toRemove)).toEqual(toRemove);
    expect(paths(plan.atRisk)).toEqual(atRisk);
    expect(plan.keptInTheWay).toEqual([]);
  });

  it('names skipped entries that stand inside a directory where the lock wants a file, and only those', () => {
    const plan = planPull(wanted(['d/m', '1'], ['d/a', '2']), local(['d/m/w', '5']), ['d/m/.git', 'd/.git', 'd/other/.x.mlship-0123456789ab.tmp']);
    expect(plan.keptInTheWay).toEqual([{ wantedFile: 'd/m', entry: 'd/m/.git' }]);
  });

  it('lists ancestors from the top', () => {
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b']);
    expect(ancestorsOf('a')).toEqual([]);
  });
});
