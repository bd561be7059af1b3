import { type Dirent, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { writeFileAtomic } from '../fs/atomic.js';
import { InfrastructureError, errnoCode } from '../../errors.js';
import { mlflowYaml, type YamlMapping } from '../../domain/registry/mlflow.js';

/**
 * A directory MLflow's file store reads (mlruns), addressed by POSIX paths relative to its root.
 * Files are written atomically; YAML is read as MLflow's loader reads it (YAML 1.1) and written so.
 */
export class MlflowFileTree {
  constructor(readonly root: string) {}

  /** MLflow's FileStore creates its Default experiment only in a root that does not exist yet. */
  isNew(): boolean {
    return !existsSync(this.root) || readdirSync(this.root).length === 0;
  }

  path(relative: string): string {
    return path.join(this.root, ...relative.split('/'));
  }

  uri(relative: string): string {
    return pathToFileURL(this.path(relative)).href;
  }

  exists(relative: string): boolean {
    return existsSync(this.path(relative));
  }

  /** Names of the directories directly under `relative` (none when it does not exist). */
  directories(relative: string): string[] {
    return this.list(relative)
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  }

  /** Names of everything directly under `relative`. */
  names(relative: string): string[] {
    return this.list(relative)
      .map((entry) => entry.name)
      .sort();
  }

  private list(relative: string): Dirent[] {
    try {
      return readdirSync(this.path(relative), { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
      throw this.failure('list', relative, error);
    }
  }

  readText(relative: string): string | undefined {
    try {
      return readFileSync(this.path(relative), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'EISDIR') return undefined;
      throw this.failure('read', relative, error);
    }
  }

  /** A YAML mapping, or undefined when the file is absent, empty or not a mapping (MLflow then skips it). */
  readYaml(relative: string): Record<string, unknown> | undefined {
    const text = this.readText(relative);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = parseYaml(text, { version: '1.1' });
    } catch {
      return undefined;
    }
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  }

  writeText(relative: string, text: string): void {
    try {
      writeFileAtomic(this.path(relative), text);
    } catch (error) {
      throw this.failure('write', relative, error);
    }
  }

  writeYaml(relative: string, mapping: YamlMapping): void {
    this.writeText(relative, mlflowYaml(mapping));
  }

  makeDirectory(relative: string): void {
    try {
      mkdirSync(this.path(relative), { recursive: true });
    } catch (error) {
      throw this.failure('create', relative, error);
    }
  }

  isDirectory(relative: string): boolean {
    try {
      return statSync(this.path(relative)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Moves a directory into place in one step (both inside the tree, on one file system). */
  rename(from: string, to: string): void {
    try {
      renameSync(this.path(from), this.path(to));
    } catch (error) {
      throw this.failure('move', `${from} to ${to}`, error);
    }
  }

  remove(relative: string): void {
    rmSync(this.path(relative), { recursive: true, force: true });
  }

  private failure(action: string, relative: string, error: unknown): InfrastructureError {
    return new InfrastructureError(`cannot ${action} ${path.join(this.root, relative)}: ${(error as Error).message}`, { cause: error });
  }
}
