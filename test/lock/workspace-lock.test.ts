import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/commands/index.js';
import { commandName } from '../../src/commands/command.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { TRAIN_CONFIG, makeTrainingProject } from '../helpers/git-project.js';
import { temporaryDirectory, type Project } from '../helpers/project.js';
import { until } from './spawn-worker.js';

// The training command of these projects logs its start, waits for a gate file, trains, logs its end.
// It gives up when the test's scratch directory is gone or after a minute: a test that kills the CLI
// with SIGKILL orphans it (it runs in a process group of its own), and a waiting loop left behind
// forks fifty times a second for good, slowing everything after it on the machine.
const HOLD_SH = `echo "start $RUN_NAME" >> "$EVENTS"
waited=0
while [ ! -e "$GATE" ]; do
  [ -d "$(dirname "$GATE")" ] && [ "$waited" -lt 3000 ] || exit 1
  waited=$((waited + 1))
  sleep 0.02
done
python3 train.py
echo "end $RUN_NAME" >> "$EVENTS"
`;

interface Run {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});

interface Workspace {
  readonly project: Project;
  readonly events: string;
  gate(name: string): string;
  /** Runs the bundled CLI in the project as RUN_NAME=name, its training held until gate(name) exists. */
  mlship(name: string, ...argv: string[]): Run;
  eventLines(): string[];
}

async function workspace(): Promise<Workspace> {
  const project = await makeTrainingProject({ files: { 'hold.sh': HOLD_SH } });
  writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`).replace('command: python3 train.py', 'command: sh hold.sh'));
  const scratch = temporaryDirectory('mlship-events-');
  const events = path.join(scratch, 'events');
  writeFileSync(events, '');
  const gate = (name: string): string => path.join(scratch, `gate-${name}`);
  return {
    project,
    events,
    gate,
    mlship(name, ...argv) {
      // Its own process group, so a test can kill the CLI together with its training command.
      const child = spawn(nodeBinary(), [CLI, ...argv], {
        cwd: project.root,
        env: { ...process.env, RUN_NAME: name, EVENTS: events, GATE: gate(name) },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
      );
      return { child, stderr: () => stderr, done };
    },
    eventLines: () => readFileSync(events, 'utf8').trimEnd().split('\n').filter(Boolean),
  };
}

async function trainingStarted(ws: Workspace, name: string): Promise<void> {
  await until(() => ws.eventLines().includes(`start ${name}`), `training ${name} to start`);
}

describe('workspace lock: one writer per workspace', () => {
  it('refuses a second writing command at once (exit 3), naming the holder; reading commands still run', async () => {
    const ws = await workspace();
    const first = ws.mlship('A', 'train', '--json');
    await trainingStarted(ws, 'A');

    for (const argv of [['train', '--force'], ['data', 'snapshot']]) {
      const second = await ws.mlship('B', ...argv).done;
      expect(second.code, second.stderr).toBe(3);
      expect(second.stderr).toContain(`the workspace ${ws.project.root} is in use by "mlship train" (pid ${first.child.pid} on host ${hostname()}, since `);
      expect(second.stderr).toMatch(/since \d\d:\d\d:\d\dZ\); wait for it, or pass --wait 5m/);
    }
    const status = await ws.mlship('C', 'data', 'status').done;
    expect(status.code, status.stderr).toBe(0);

    writeFileSync(ws.gate('A'), '');
    const finished = await first.done;
    expect(finished.code, finished.stderr).toBe(0);
    expect(ws.eventLines()).toEqual(['start A', 'end A']);
    expect(existsSync(path.join(ws.project.root, '.mlship', 'workspace.lock'))).toBe(false);
  }, 60_000);

  it('with --wait, waits for the holder to finish, then runs: the two trainings never interleave', async () => {
    const ws = await workspace();
    const first = ws.mlship('A', 'train', '--json');
    await trainingStarted(ws, 'A');
    writeFileSync(ws.gate('B'), ''); // B would train at once if it started
    const second = ws.mlship('B', 'train', '--force', '--wait', '2m', '--json');
    await until(() => second.stderr().includes('waiting up to 2m'), 'the second train to wait');
    expect(second.stderr()).toContain(`the workspace is in use by "mlship train" (pid ${first.child.pid} on host ${hostname()}`);
    expect(ws.eventLines()).toEqual(['start A']);

    writeFileSync(ws.gate('A'), '');
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(ws.eventLines()).toEqual(['start A', 'end A', 'start B', 'end B']);
    // Each run recorded its own model: B's bytes name B's run.
    const outputs = [a, b].map((run) => JSON.parse(run.stdout) as Record<string, string>);
    expect(outputs[0]!['run-id']).not.toBe(outputs[1]!['run-id']);
    expect(outputs[0]!['model-version']).not.toBe(outputs[1]!['model-version']);
    const onDisk = JSON.parse(readFileSync(path.join(ws.project.root, 'model', 'env.json'), 'utf8')) as Record<string, string>;
    expect(onDisk.MLSHIP_RUN_ID).toBe(outputs[1]!['run-id']);
  }, 60_000);

  it('with --wait, gives up after that long, still naming the holder', async () => {
    const ws = await workspace();
    const first = ws.mlship('A', 'train');
    await trainingStarted(ws, 'A');
    const second = await ws.mlship('B', 'train', '--force', '--wait', '300ms').done;
    expect(second.code, second.stderr).toBe(3);
    expect(second.stderr).toContain(`the workspace ${ws.project.root} is still in use by "mlship train" (pid ${first.child.pid}`);
    expect(second.stderr).toContain('after waiting 300ms; wait for it, or pass a longer --wait');
    writeFileSync(ws.gate('A'), '');
    expect((await first.done).code).toBe(0);
  }, 60_000);

  it('is not blocked by a holder that was killed (SIGKILL)', async () => {
    const ws = await workspace();
    const first = ws.mlship('A', 'train');
    await trainingStarted(ws, 'A');
    process.kill(-first.child.pid!, 'SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    expect(existsSync(path.join(ws.project.root, '.mlship', 'workspace.lock'))).toBe(true);

    writeFileSync(ws.gate('B'), '');
    const next = await ws.mlship('B', 'train', '--force').done;
    expect(next.code, next.stderr).toBe(0);
    expect(ws.eventLines()).toEqual(['start A', 'start B', 'end B']);
  }, 60_000);
});

describe('workspace lock: which commands take it', () => {
  it('is taken by the commands that write the workspace or its outputs, each with --wait', () => {
    const locking = COMMANDS.filter((command) => command.locksWorkspace).map(commandName);
    expect(locking.sort()).toEqual(['build', 'data pull', 'data snapshot', 'train']);
    for (const command of COMMANDS.filter((c) => c.locksWorkspace)) expect(command.options.wait, commandName(command)).toMatchObject({ type: 'string' });
  });

  it('is held while the command runs and released when it fails', async () => {
    const project = await makeTrainingProject();
    const config = TRAIN_CONFIG(`file://${project.store}`);
    // The training command sees the lock, then fails.
    writeFileSync(path.join(project.root, 'mlship.yml'), config.replace('command: python3 train.py', 'command: test -f .mlship/workspace.lock && exit 7'));
    const failed = await project.run('train');
    expect(failed.exitCode).not.toBe(0);
    expect(failed.error?.message).toContain('the training command exited with code 7');
    expect(existsSync(path.join(project.root, '.mlship', 'workspace.lock'))).toBe(false);
    // Released: this same process takes it again.
    writeFileSync(path.join(project.root, 'mlship.yml'), config);
    const again = await project.run('train');
    expect(again.exitCode, again.error?.message).toBe(0);
  });

  it('refuses a --wait that is not a duration (exit 2)', async () => {
    const project = await makeTrainingProject();
    const run = await project.run('train', '--wait', 'soon');
    expect(run.exitCode).toBe(2);
    expect(run.error?.message).toBe('--wait: expected a duration such as 30s, 5m or 1h, got "soon"');
  });
});
