import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';

/** sshd's MaxSessions is 10 by default: stay below it, queueing the rest in the agent. */
const MAX_CHANNELS = 8;

/**
 * The way `docker -H ssh://…` reaches an engine: `docker system dial-stdio` on the remote host,
 * one exec channel per HTTP connection, all over one ssh connection (one handshake per command,
 * not one per request). The ssh socket holds the process open only while a channel is open, so a
 * command ends as soon as its last request does.
 *
 * Used instead of docker-modem's own ssh transport, which opens an ssh connection per request and
 * builds its request URL with `url.parse` on a string Node rejects (DEP0170, "will throw in future
 * versions"; apocas/docker-modem#184).
 */
export class SshDialAgent extends http.Agent {
  private client: Promise<Client> | undefined;
  private socket: net.Socket | undefined;
  private channels = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly config: Omit<ConnectConfig, 'host' | 'port' | 'sock'>,
  ) {
    super({ keepAlive: false, maxSockets: MAX_CHANNELS });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    const done = (error: Error | null, channel?: Duplex): void => callback?.(error, channel as Duplex);
    // Counted from the ask, not from the channel: the process must wait for a channel on its way.
    this.opened();
    this.connection().then(
      (client) =>
        client.exec('docker system dial-stdio', (error, channel) => {
          if (error) {
            this.closed();
            done(error);
            return;
          }
          channel.once('close', () => this.closed());
          done(null, channel);
        }),
      (error: Error) => {
        this.closed();
        done(error);
      },
    );
    return undefined;
  }

  override destroy(): void {
    super.destroy();
    this.socket?.destroy();
  }

  private connection(): Promise<Client> {
    this.client ??= new Promise<Client>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      this.socket = socket;
      const client = new Client();
      const forget = (): void => {
        if (this.socket === socket) {
          this.client = undefined;
          this.socket = undefined;
        }
      };
      client
        .once('ready', () => resolve(client))
        // Not once: the connection can fail again after it was ready, and an unheard error throws.
        .on('error', (error) => {
          forget();
          socket.destroy();
          reject(error);
        })
        .once('close', forget);
      client.connect({ ...this.config, host: this.host, port: this.port, sock: socket });
    });
    return this.client;
  }

  private opened(): void {
    if (this.channels++ === 0) this.socket?.ref();
  }

  private closed(): void {
    if (--this.channels === 0) this.socket?.unref();
  }
}
