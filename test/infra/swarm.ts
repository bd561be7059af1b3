/**
 * Swarm mode on the test engine: the deployment tests need a manager. An engine that is not in a
 * swarm yet is made the manager of a one-node swarm on loopback (no ingress routing mesh here: the
 * kernel lacks IPVS, so tests publish ports in host mode and reach services through an edge).
 *
 * A managed engine stays a manager between runs (its data root keeps the swarm). An engine that
 * mlship did not start is left as it was found: when a test run made it a manager, the last run
 * using it (lease files, as for the managed engine) makes it leave the swarm at teardown.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { freeLoopbackPort, isAlive, timed, withLock, type Log } from './support.js';

const LIMITS = {
  /** From `swarm init`, or from a managed engine's restart, to a ready manager. */
  managerReady: 60_000,
  leave: 30_000,
} as const;

/** The Swarm listen port by convention; another free port when something holds it. */
const SWARM_PORT = 2377;

export interface SwarmManager {
  readonly nodeId: string;
  /** `127.0.0.1:PORT`, where the manager listens for the swarm (not the Engine API). */
  readonly managerAddress: string;
  /** Whether this run ran `swarm init` (false when the engine already was a manager). */
  readonly initializedByThisRun: boolean;
}

interface SwarmInfo {
  readonly NodeID?: string;
  readonly NodeAddr?: string;
  readonly LocalNodeState?: string;
  readonly ControlAvailable?: boolean;
  readonly Error?: string;
  readonly RemoteManagers?: ReadonlyArray<{ NodeID?: string; Addr?: string }> | null;
}

/**
 * Makes sure the engine is a ready Swarm manager, running `swarm init` on loopback when it is in
 * no swarm. Call it holding the setup lock; `release` (teardown) takes the lock itself.
 */
export async function ensureSwarmManager(
  docker: Docker,
  options: { readonly dir: string; readonly dockerHost: string; readonly managedEngine: boolean; readonly log: Log },
): Promise<{ manager: SwarmManager; release(): Promise<void> }> {
  const { dir, dockerHost, managedEngine, log } = options;
  const mark = path.join(dir, 'swarm-initialized-on-existing-engine');
  let swarm = await swarmInfo(docker);
  let initializedByThisRun = false;
  if (swarm.LocalNodeState === 'inactive') {
    const port = await freeLoopbackPort(SWARM_PORT);
    await timed(log, `swarm init on 127.0.0.1:${port}`, async () => {
      // The mark goes first: a run that dies right after the init still leaves it to be undone.
      if (!managedEngine) await writeFile(mark, `${dockerHost}\n`);
      await docker.swarmInit({ ListenAddr: `127.0.0.1:${port}`, AdvertiseAddr: `127.0.0.1:${port}` }).catch((error: unknown) => {
        throw new Error(`Swarm: \`swarm init\` on ${dockerHost} (127.0.0.1:${port}) failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    initializedByThisRun = true;
  }
  swarm = await waitForManager(docker, dockerHost);
  const nodeId = swarm.NodeID!;
  const managerAddress = swarm.RemoteManagers?.find((manager) => manager.NodeID === nodeId)?.Addr ?? swarm.NodeAddr ?? '';

  const leases = path.join(dir, 'swarm-leases');
  const ownLease = path.join(leases, String(process.pid));
  const undoInit = !managedEngine && (await readFile(mark, 'utf8').catch(() => '')).trim() === dockerHost;
  if (undoInit) {
    await mkdir(leases, { recursive: true });
    await writeFile(ownLease, `${dockerHost}\n`);
  }
  const release = async (): Promise<void> => {
    if (!undoInit) return;
    await withLock(dir, async () => {
      await rm(ownLease, { force: true });
      for (const name of await readdir(leases).catch(() => [] as string[])) {
        const pid = Number(name);
        if (Number.isInteger(pid) && isAlive(pid)) {
          log(`left ${dockerHost} in the swarm: test run ${pid} still uses it`);
          return;
        }
        await rm(path.join(leases, name), { force: true });
      }
      await timed(log, `left the swarm that a test run created on ${dockerHost} (swarm leave --force)`, async () => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), LIMITS.leave);
        try {
          await docker.swarmLeave({ force: true, abortSignal: controller.signal });
        } catch (error) {
          if ((await swarmInfo(docker)).LocalNodeState !== 'inactive') {
            throw new Error(`Swarm: \`swarm leave --force\` on ${dockerHost} failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        } finally {
          clearTimeout(timer);
        }
      });
      await rm(mark, { force: true });
    });
  };
  return { manager: { nodeId, managerAddress, initializedByThisRun }, release };
}

async function swarmInfo(docker: Docker): Promise<SwarmInfo> {
  return ((await docker.info()) as { Swarm?: SwarmInfo }).Swarm ?? {};
}

/** Waits for the engine to be an active manager with control available and itself a ready node. */
async function waitForManager(docker: Docker, dockerHost: string): Promise<SwarmInfo> {
  const deadline = Date.now() + LIMITS.managerReady;
  for (;;) {
    const swarm = await swarmInfo(docker);
    const state = swarm.LocalNodeState ?? 'unknown';
    if (state === 'locked') throw new Error(`Swarm: the swarm of ${dockerHost} is locked (autolock); unlock it with \`docker swarm unlock\`.`);
    if (state === 'active' && swarm.ControlAvailable === false && (swarm.RemoteManagers?.length ?? 0) > 0 && !swarm.RemoteManagers?.some((manager) => manager.NodeID === swarm.NodeID)) {
      throw new Error(`Swarm: ${dockerHost} is a worker of a swarm (node ${swarm.NodeID}); the deployment tests need a manager. Use another engine, or make it leave that swarm.`);
    }
    let problem = `state ${state}${swarm.Error ? `: ${swarm.Error}` : ''}`;
    if (state === 'active' && swarm.ControlAvailable && swarm.NodeID) {
      const node = await docker
        .getNode(swarm.NodeID)
        .inspect()
        .catch(() => undefined) as { Status?: { State?: string }; ManagerStatus?: { Reachability?: string } } | undefined;
      if (node?.Status?.State === 'ready' && node.ManagerStatus?.Reachability === 'reachable') return swarm;
      problem = `node ${swarm.NodeID} is ${node?.Status?.State ?? 'not listed yet'}, manager ${node?.ManagerStatus?.Reachability ?? 'unknown'}`;
    }
    if (Date.now() > deadline) throw new Error(`Swarm: ${dockerHost} is not a ready manager ${LIMITS.managerReady / 1000} s on (${problem}).`);
    await sleep(250);
  }
}
