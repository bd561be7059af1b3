import type { CommandDefinition } from './command.js';
import { init } from './init/init.js';
import { validate } from './validate/validate.js';
import { dataPull } from './data/pull.js';
import { dataPush } from './data/push.js';
import { dataSnapshot } from './data/snapshot.js';
import { dataStatus } from './data/status.js';
import { dataVerify } from './data/verify.js';
import { train } from './train/train.js';
import { evaluate } from './evaluate/evaluate.js';
import { build } from './build/build.js';
import { deploy } from './deploy/deploy.js';
import { smoke } from './smoke/smoke.js';
import { promote } from './promote/promote.js';
import { rollback } from './rollback/rollback.js';
import { status } from './status/status.js';
import { propose } from './propose/propose.js';
import { drift } from './drift/drift.js';
import { registryList } from './registry/list.js';
import { registryShow } from './registry/show.js';
import { registryAliasGet, registryAliasSet } from './registry/alias.js';
import { registryExport } from './registry/export.js';

/** Every command mlship has, in the order help lists them. */
export const COMMANDS: readonly CommandDefinition[] = [
  init,
  validate,
  dataSnapshot,
  dataStatus,
  dataPush,
  dataPull,
  dataVerify,
  train,
  evaluate,
  build,
  deploy,
  smoke,
  promote,
  rollback,
  drift,
  status,
  propose,
  registryList,
  registryShow,
  registryAliasSet,
  registryAliasGet,
  registryExport,
];

/** Union of every command's outputs: exactly the outputs action.yml declares. */
export function allOutputs(): Map<string, string> {
  const outputs = new Map<string, string>();
  for (const command of COMMANDS) {
    for (const [name, description] of Object.entries(command.outputs)) {
      if (!outputs.has(name)) outputs.set(name, description);
    }
  }
  return outputs;
}
