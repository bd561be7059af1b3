import path from 'node:path';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { temporaryDirectory } from '../helpers/project.js';
import { describeRegistryBackendContract } from './backend-contract.js';

describeRegistryBackendContract('file registry', async () => {
  const root = path.join(temporaryDirectory(), 'registry');
  return () => new FileRegistryBackend(root);
});
