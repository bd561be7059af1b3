/**
 * Where the model registry keeps its files: a tree of small text files (JSON records, one-line
 * indexes, JSONL histories) addressed by POSIX paths such as `runs/20261123T101500Z-ab12cd.json`.
 * The registry's layout (src/domain/registry) makes every lookup a read of one known path, so no
 * backend ever scans its records to answer a question.
 *
 * Two backends: a directory (file:///path) and an orphan branch of the repository's git remote.
 */
export interface RegistryBackend {
  /** Where the registry is, safe to print (no credentials). */
  readonly location: string;
  /** The file's text, or undefined when there is none. */
  read(path: string): Promise<string | undefined>;
  /** Names (not paths) of the files directly under `directory`, sorted; empty when there is none. */
  list(directory: string): Promise<string[]>;
  /**
   * Applies a change atomically: all of its writes become visible together, or none do. `change`
   * reads the current state through the transaction and writes through it; when another writer got
   * there first, the backend may discard the attempt and run `change` again on the newer state, so
   * `change` must be safe to repeat (compute from what it reads, never from what it read before).
   * Fails with InfrastructureError when the backend cannot be reached or keeps losing the race.
   */
  update(message: string, change: (tx: RegistryTransaction) => Promise<void>): Promise<void>;
}

export interface RegistryTransaction {
  read(path: string): Promise<string | undefined>;
  list(directory: string): Promise<string[]>;
  /** Creates or replaces a file. */
  write(path: string, content: string): void;
  /** Adds a line (a newline is appended) at the end of a file, creating it if needed. */
  append(path: string, line: string): void;
}
