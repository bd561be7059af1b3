/**
 * What `mlship init` writes, as text: pure functions of what it detected and the flags given.
 */

export interface ProjectPlan {
  readonly name: string;
  /** undefined: no training script found and no --train-command (the section is left commented). */
  readonly trainCommand: string | undefined;
  /** Empty: no data folder found and no --data (the section is left commented). */
  readonly dataPaths: readonly string[];
  readonly registry: string;
  readonly image: string;
  /** The image's registry user (ghcr.io: the repository owner); undefined when unknown. */
  readonly imageUser: string | undefined;
  /** A Dockerfile was there already (else mlship init writes the serving skeleton). */
  readonly hasDockerfile: boolean;
}

const yamlList = (items: readonly string[]): string => `[${items.map((i) => (/^[\w./-]+$/.test(i) ? i : JSON.stringify(i))).join(', ')}]`;
const yamlText = (text: string): string => (/^[\w./@:+-][\w ./@:+=-]*$/.test(text) && !/:\s/.test(text) ? text : JSON.stringify(text));

export function mlshipYml(plan: ProjectPlan): string {
  const store = [
    '  # Where data objects and trained models go. Default .mlship/store, which only this machine sees:',
    `  # for a team and for CI use a bucket (credentials from the AWS_* variables).`,
    `  # store: s3://my-bucket/${plan.name}`,
  ];
  const data =
    plan.dataPaths.length > 0
      ? ['data:', `  paths: ${yamlList(plan.dataPaths)}`, ...store]
      : ['# No data folder was found: declare the files the model is trained on (mlship train needs them).', '# data:', '#   paths: [data]', ...store.map((line) => `#${line.slice(1)}`)];
  const train =
    plan.trainCommand !== undefined
      ? ['train:', `  command: ${yamlText(plan.trainCommand)}`]
      : ['# No train.py was found: give the command that trains the model (mlship init --train-command).', '# train:', '#   command: python3 train.py'];
  const trainRest = [
    '  # params: params.yaml                  # a YAML mapping: recorded, part of the run key (MLSHIP_PARAMS)',
    '  # The command writes these (their paths arrive as MLSHIP_MODEL_PATH, MLSHIP_METRICS_PATH, …):',
    '  # the model (its content hash is the model version), metrics as JSON, held-out predictions',
    '  # (label,score per row) that `mlship evaluate` scores, and smoke cases for the live model.',
    '  outputs: { model: model, metrics: metrics.json, predictions: predictions.csv, smoke: smoke.jsonl }',
  ];
  return [
    '# yaml-language-server: $schema=https://github.com/mlship/mlship/blob/main/dist/mlship.schema.json',
    '# mlship: from a pull request to production. Every key is in the README (`mlship.yml` reference);',
    '# `mlship validate` checks this file and prints it with every default filled in.',
    'version: 1',
    `name: ${plan.name}`,
    ...data,
    ...train,
    ...trainRest.map((line) => (plan.trainCommand === undefined ? `#${line.slice(1)}` : line)),
    'evaluate:',
    '  gates:',
    '    - { metric: auc, min: 0.7 }                               # an absolute floor',
    '    - { metric: auc, baseline: production, max_drop: 0.01 }   # no worse than what serves production',
    '# Run records, model versions, aliases and the deployment ledger. git: an orphan branch',
    "# (mlship-registry) of this repository's origin, pushed with the workflow's token; or file:///path.",
    'registry:',
    `  store: ${yamlText(plan.registry)}`,
    '# The serving image (mlship build). It must follow the serving contract (README): GET /health,',
    `# POST /predict {"rows": [...]} -> {"scores": [...], "model_version": "..."}, on $PORT.`,
    'image:',
    `  repository: ${yamlText(plan.image)}`,
    ...(plan.imageUser !== undefined
      ? [`  username: ${yamlText(plan.imageUser)}`, '  password_env: REGISTRY_PASSWORD       # the variable holding the password (the workflows set it)']
      : ['  # username: me', '  # password_env: REGISTRY_PASSWORD     # the variable holding the password (the workflows set it)']),
    '# Where the model runs: a Docker Swarm service per environment behind an nginx edge mlship manages.',
    '# docker_host: unix://, tcp:// (TLS) or ssh://; default DOCKER_HOST, else the local engine.',
    'environments:',
    '  staging:',
    '    target: swarm',
    '    # docker_host: ssh://deploy@staging.internal',
    `    service: ${plan.name}-staging`,
    '    port: 8080',
    '  production:',
    '    target: swarm',
    `    service: ${plan.name}`,
    '    replicas: 3',
    '    port: 8090',
    '    rollout: { parallelism: 1, order: start-first, delay: 2s, monitor: 10s, timeout: 10m }',
    '# The live model tested as a model: the cases training wrote, sent to the environment.',
    'smoke:',
    '  cases: smoke.jsonl',
    '  max_error_rate: 0',
    '',
  ].join('\n');
}

/** Keeps the build context small and free of data and secrets. */
export function dockerignore(plan: ProjectPlan): string {
  if (!plan.hasDockerfile) {
    return [
      '# Only what the image needs: the server and the model (written by mlship init).',
      '*',
      '!Dockerfile',
      '!serve.py',
      '!model/',
      '**/__pycache__',
      '**/*.pyc',
      '',
    ].join('\n');
  }
  return [
    '# Kept out of the image build context (written by mlship init).',
    '.git',
    '.github',
    '.mlship/',
    ...plan.dataPaths.map((p) => `${p.replace(/\/+$/, '')}`),
    '**/__pycache__',
    '**/*.pyc',
    '',
  ].join('\n');
}

/** A serving image skeleton under the serving contract (README, "The serving contract"). */
export const SERVING_DOCKERFILE = `# The serving image, under mlship's serving contract: on $PORT, GET /health (200 once the model
# is loaded), POST /predict {"rows": [...]} -> {"scores": [...], "model_version": "..."} with the
# X-Model-Version header. Written by mlship init: adapt the dependencies to your model. They come
# first and the model last, so a new model rebuilds only the last layer.
FROM python:3.12-slim
RUN pip install --no-cache-dir "fastapi>=0.110,<1" "uvicorn>=0.29,<1" "pandas>=2,<3" "scikit-learn>=1.4,<2" \\
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin model
ENV PORT=8080 PYTHONUNBUFFERED=1
EXPOSE 8080
# Swarm counts a task as running only once it is healthy; mlship may set PORT.
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=3 \\
  CMD python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=2)"
# The server finishes the requests under way on SIGTERM (python3 is PID 1: exec form below).
STOPSIGNAL SIGTERM
USER 10001
WORKDIR /srv
COPY serve.py /srv/serve.py
COPY model/ /srv/model/
CMD ["python3", "/srv/serve.py"]
`;

export const SERVING_SERVER = `"""Serves the model under mlship's serving contract (written by mlship init: adapt it).

  GET  /health   200 once the model is loaded
  POST /predict  {"rows": [{feature: value, ...}, ...]} -> {"scores": [...], "model_version": "..."}
  Every answer carries X-Model-Version (and X-Image-Digest when mlship passes MLSHIP_IMAGE_DIGEST),
  so smoke tests and rollouts can tell which version answered.

The model is read from model/model.pkl (a pickled scikit-learn classifier with predict_proba);
train.py writes it to $MLSHIP_MODEL_PATH/model.pkl.
"""
import os
import pickle
from typing import Any, Dict, List

import pandas as pd
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

MODEL_PATH = os.environ.get("MODEL_PATH", "/srv/model/model.pkl")
MODEL_VERSION = os.environ.get("MLSHIP_MODEL_VERSION", "unknown")
IMAGE_DIGEST = os.environ.get("MLSHIP_IMAGE_DIGEST", "")

with open(MODEL_PATH, "rb") as handle:
    MODEL = pickle.load(handle)

app = FastAPI()


class PredictRequest(BaseModel):
    rows: List[Dict[str, Any]]


@app.middleware("http")
async def label_version(request: Request, call_next):
    response = await call_next(request)
    response.headers["X-Model-Version"] = MODEL_VERSION
    if IMAGE_DIGEST:
        response.headers["X-Image-Digest"] = IMAGE_DIGEST
    return response


@app.get("/health")
def health():
    return {"status": "ok", "model_version": MODEL_VERSION}


@app.post("/predict")
def predict(request: PredictRequest):
    scores = MODEL.predict_proba(pd.DataFrame(request.rows))[:, 1]
    return {"scores": [float(score) for score in scores], "model_version": MODEL_VERSION}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), timeout_graceful_shutdown=10)
`;
