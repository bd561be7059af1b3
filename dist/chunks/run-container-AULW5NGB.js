#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  LineSplitter
} from "./chunk-U6HHBLXE.js";
import {
  InfrastructureError,
  describeError
} from "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";

// src/adapters/docker/run-container.ts
import { PassThrough } from "node:stream";
async function runInContainer(docker, request, onLine) {
  const keep = request.tailLines ?? 50;
  const tail = [];
  const user = process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : void 0;
  let container;
  try {
    container = await docker.createContainer({
      Image: request.image,
      Cmd: ["sh", "-c", request.command],
      WorkingDir: request.workspace,
      Env: Object.entries(request.env).map(([k, v]) => `${k}=${v}`),
      ...user ? { User: user } : {},
      HostConfig: { Binds: [`${request.workspace}:${request.workspace}`] },
      AttachStdout: true,
      AttachStderr: true
    });
  } catch (error) {
    throw new InfrastructureError(`the Docker Engine could not create the training container from ${request.image}: ${describeError(error)}`, { cause: error });
  }
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const lines = new PassThrough();
    docker.modem.demuxStream(stream, lines, lines);
    const splitter = new LineSplitter();
    lines.on("data", (chunk) => {
      for (const line of splitter.push(chunk)) take(line);
    });
    const take = (line) => {
      onLine(line);
      tail.push(line);
      if (tail.length > keep) tail.shift();
    };
    await container.start();
    const { StatusCode } = await container.wait();
    await new Promise((resolve) => {
      if (!stream.readable) return resolve();
      stream.once("end", () => resolve());
      setTimeout(resolve, 2e3).unref();
    });
    for (const line of splitter.end()) take(line);
    return { exitCode: StatusCode, tail };
  } catch (error) {
    throw new InfrastructureError(`the training container failed to run: ${describeError(error)}`, { cause: error });
  } finally {
    await container.remove({ force: true }).catch(() => void 0);
  }
}
export {
  runInContainer
};
