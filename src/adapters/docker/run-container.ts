import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { InfrastructureError, describeError } from '../../errors.js';
import { LineSplitter } from '../process/run.js';

export interface ContainerCommand {
  readonly image: string;
  readonly command: string;
  /** Bind-mounted at the same path inside, and the working directory: outputs land where they would locally. */
  readonly workspace: string;
  readonly env: Readonly<Record<string, string>>;
  readonly tailLines?: number;
}

/**
 * Runs a shell command line in a fresh container of `image` as the calling user (so files it
 * writes in the workspace belong to that user), streams its output line by line, and removes it.
 */
export async function runInContainer(docker: Docker, request: ContainerCommand, onLine: (line: string) => void): Promise<{ exitCode: number; tail: string[] }> {
  const keep = request.tailLines ?? 50;
  const tail: string[] = [];
  const user = process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined;
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: request.image,
      Cmd: ['sh', '-c', request.command],
      WorkingDir: request.workspace,
      Env: Object.entries(request.env).map(([k, v]) => `${k}=${v}`),
      ...(user ? { User: user } : {}),
      HostConfig: { Binds: [`${request.workspace}:${request.workspace}`] },
      AttachStdout: true,
      AttachStderr: true,
    });
  } catch (error) {
    throw new InfrastructureError(`the Docker Engine could not create the training container from ${request.image}: ${describeError(error)}`, { cause: error });
  }
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const lines = new PassThrough();
    docker.modem.demuxStream(stream, lines, lines);
    // Output arrives in arbitrary chunks: a character split between two is decoded whole.
    const splitter = new LineSplitter();
    lines.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) take(line);
    });
    const take = (line: string): void => {
      onLine(line);
      tail.push(line);
      if (tail.length > keep) tail.shift();
    };
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attach stream ends shortly after the container exits: let the last lines arrive.
    await new Promise<void>((resolve) => {
      if (!stream.readable) return resolve();
      stream.once('end', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
    for (const line of splitter.end()) take(line);
    return { exitCode: StatusCode, tail };
  } catch (error) {
    throw new InfrastructureError(`the training container failed to run: ${describeError(error)}`, { cause: error });
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
