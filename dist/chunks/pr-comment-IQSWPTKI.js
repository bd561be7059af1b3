#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  COMMENT_LENGTH_LIMIT,
  DEFAULT_GITHUB_API_URL,
  GitHubCommentPoster,
  WORKFLOW_TOKEN_LOGIN,
  composeCommentBody,
  markerLine
} from "./chunk-AARZUNHX.js";
import "./chunk-KQO5UGCV.js";
import "./chunk-5DC5KTWX.js";
import "./chunk-TPGXKFNT.js";
import "./chunk-5RO3G7CI.js";
import "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";
export {
  COMMENT_LENGTH_LIMIT,
  DEFAULT_GITHUB_API_URL,
  GitHubCommentPoster,
  WORKFLOW_TOKEN_LOGIN,
  composeCommentBody,
  markerLine
};
