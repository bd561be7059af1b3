/**
 * A real `ssh://` Docker host: Debian's OpenSSH server on 127.0.0.1, started per run on a free
 * port with its own configuration, host key and authorized key (ed25519, generated in a temp
 * directory), and stopped at teardown. Nothing of the machine's own ssh setup is read or changed.
 *
 * An ssh Docker client (docker-modem, the docker CLI) runs `docker system dial-stdio` on the remote
 * side, which needs the docker CLI there and an engine to dial. The engine is the test engine, not
 * /var/run/docker.sock: this sshd's own `SetEnv DOCKER_HOST=…` points the sessions it starts at it.
 * That is the least invasive way: no file in the user's home (~/.ssh/environment), no symlink at
 * /var/run/docker.sock (which the setup would take for an existing engine), and it ends with sshd.
 * The sessions also get an empty HOME of their own: bash reads ~/.bashrc for commands run by sshd,
 * and a developer's (pyenv, cargo...) can take seconds per session, of which a Docker client
 * opens one per connection to the engine; the remote docker CLI then reads no ~/.docker of the machine either.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { connectEngine } from '../../src/adapters/docker/engine.js';
import { exists, findBinary, freeLoopbackPort, logTail, messageOf, runCaptured, spawnLogged, waitForExit, withTimeout } from './support.js';

const LIMITS = {
  listen: 15_000,
  /** The first request through ssh: key exchange, login, `docker system dial-stdio`, ping. */
  probe: 20_000,
  stop: 5_000,
} as const;

export interface SshDockerHost {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** An ed25519 private key (OpenSSH format) that the server accepts for {@link user}. */
  readonly privateKeyPath: string;
  /** An ed25519 private key that the server does not accept. */
  readonly unauthorizedKeyPath: string;
  /** A known_hosts file with the server's host key, for clients that verify it. */
  readonly knownHostsPath: string;
  /** `ssh://USER@127.0.0.1:PORT` */
  readonly dockerHost: string;
}

/**
 * A dockerode client for the ssh Docker host with a private key file, connected the way mlship
 * connects (its dial-stdio agent, the host key checked against the run's known_hosts), so the
 * environment's own check goes the path deploys take. `readyTimeoutMs` bounds the ssh handshake.
 */
export function sshDockerClient(endpoint: SshDockerHost, privateKeyPath: string, options: { readyTimeoutMs?: number } = {}): Docker {
  return connectEngine(endpoint.dockerHost, {
    MLSHIP_SSH_KEY: privateKeyPath,
    MLSHIP_SSH_KNOWN_HOSTS: endpoint.knownHostsPath,
    MLSHIP_NETWORK_TIMEOUT: String((options.readyTimeoutMs ?? 20_000) / 1000),
  });
}

/**
 * Starts sshd for the engine at `engineHost` (`unix://…` or `tcp://…`); TLS settings of a tcp
 * engine come from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as for the tests themselves.
 */
export async function startSshDockerHost(engineHost: string): Promise<{ endpoint: SshDockerHost; stop(): Promise<void> }> {
  const sshd = await findBinary('sshd');
  const keygen = await findBinary('ssh-keygen');
  if (!sshd || !keygen) throw new Error('sshd: sshd or ssh-keygen is not installed (the openssh-server package did not provide it)');
  const dir = await mkdtemp(path.join(tmpdir(), 'mlship-sshd-'));
  const logFile = path.join(dir, 'sshd.log');
  let child: ReturnType<typeof spawnLogged> | undefined;
  const stop = async (): Promise<void> => {
    const pid = child?.child.pid;
    if (pid !== undefined && !child?.exited) {
      child?.child.kill('SIGTERM');
      if (!(await waitForExit(pid, LIMITS.stop))) child?.child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const key = async (name: string, comment: string): Promise<string> => {
      const file = path.join(dir, name);
      await runCaptured(`sshd: generating ${name}`, [keygen, '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
      return file;
    };
    const [hostKey, privateKeyPath, unauthorizedKeyPath] = await Promise.all([
      key('ssh_host_ed25519_key', 'mlship test sshd host key'),
      key('id_ed25519', 'mlship test client'),
      key('id_ed25519_unauthorized', 'mlship test client (not authorized)'),
    ]);
    await writeFile(path.join(dir, 'authorized_keys'), await readFile(`${privateKeyPath}.pub`), { mode: 0o600 });
    await mkdir(path.join(dir, 'home'));
    const user = userInfo().username;
    // The privilege separation directory sshd insists on (Debian's service creates it at start).
    if (process.getuid?.() === 0 && !(await exists('/run/sshd'))) await mkdir('/run/sshd', { mode: 0o755 });

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freeLoopbackPort();
      const config = path.join(dir, 'sshd_config');
      await writeFile(config, sshdConfig({ dir, port, hostKey, user, engineHost }));
      child = spawnLogged(sshd, ['-D', '-e', '-f', config], logFile);
      const listening = await waitForListening(logFile, port, () => child?.exited);
      if (listening) break;
      // Another process can take the port between the probe and sshd's bind: try another one.
      if (attempt < 3 && /Address already in use/.test(await readFile(logFile, 'utf8').catch(() => ''))) continue;
      throw new Error(`sshd: did not listen on 127.0.0.1:${port} within ${LIMITS.listen / 1000} s${child.exited ? ` (it ${child.exited})` : ''}.${await logTail(logFile)}`);
    }

    const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHostsPath = path.join(dir, 'known_hosts');
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPublicKey}\n`);
    const endpoint: SshDockerHost = {
      host: '127.0.0.1',
      port,
      user,
      privateKeyPath,
      unauthorizedKeyPath,
      knownHostsPath,
      dockerHost: `ssh://${user}@127.0.0.1:${port}`,
    };

    // The whole chain once, so that a broken one fails here naming sshd, with its log.
    try {
      await withTimeout(sshDockerClient(endpoint, privateKeyPath, { readyTimeoutMs: LIMITS.probe }).ping(), LIMITS.probe, 'ping');
    } catch (error) {
      throw new Error(`sshd: the engine does not answer through ${endpoint.dockerHost} (${messageOf(error)}).${await logTail(logFile)}`);
    }
    return { endpoint, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function sshdConfig(options: { dir: string; port: number; hostKey: string; user: string; engineHost: string }): string {
  const sessionEnvironment = [`DOCKER_HOST=${options.engineHost}`, `HOME=${path.join(options.dir, 'home')}`];
  if (options.engineHost.startsWith('tcp://')) {
    for (const name of ['DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'] as const) {
      const value = process.env[name];
      if (value) sessionEnvironment.push(`${name}=${value}`);
    }
  }
  return [
    `Port ${options.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${options.hostKey}`,
    `PidFile ${path.join(options.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(options.dir, 'authorized_keys')}`,
    `AllowUsers ${options.user}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    // No PAM: its session modules (loginuid, motd, environment files) fail or differ in containers.
    'UsePAM no',
    // The keys live under the temp directory, whose parent (/tmp) is world-writable.
    'StrictModes no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'PrintMotd no',
    // docker-modem opens one ssh connection per request: leave room for concurrent ones.
    'MaxStartups 100',
    'MaxSessions 100',
    // Applied after sshd's own HOME, USER, PATH..., so it overrides HOME.
    `SetEnv ${sessionEnvironment.join(' ')}`,
    'LogLevel INFO',
    '',
  ].join('\n');
}

async function waitForListening(logFile: string, port: number, exited: () => string | undefined): Promise<boolean> {
  const deadline = Date.now() + LIMITS.listen;
  while (Date.now() < deadline) {
    if ((await readFile(logFile, 'utf8').catch(() => '')).includes(`Server listening on 127.0.0.1 port ${port}`)) return true;
    if (exited()) return false;
    await sleep(50);
  }
  return false;
}
