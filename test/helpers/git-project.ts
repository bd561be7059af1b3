import { execFileSync } from 'node:child_process';
import { ageFiles, makeProject, writeTree, type Project } from './project.js';

/** Runs git in `cwd` with an identity, so tests work on machines without a global one. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=mlship test', '-c', 'user.email=test@localhost', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * A training script that needs only the standard library: it "learns" the mean of each numeric
 * column per label, writes a model directory, nested metrics and predictions, and echoes the
 * mlship variables it was given into the model so tests can check them.
 */
export const TRAIN_PY = `import csv, json, os, sys
params = json.loads(os.environ.get("MLSHIP_PARAMS", "{}"))
rows = list(csv.DictReader(open("data/train.csv")))
features = [k for k in rows[0] if k != "label"]
means = {c: {f: sum(float(r[f]) for r in rows if r["label"] == c) / max(1, sum(1 for r in rows if r["label"] == c)) for f in features} for c in ("0", "1")}
os.makedirs("model", exist_ok=True)
json.dump({"means": means, "scale": params.get("scale", 1)}, open("model/weights.json", "w"), sort_keys=True)
json.dump({k: os.environ.get(k) for k in ("MLSHIP_RUN_ID", "MLSHIP_DATA_VERSION", "MLSHIP_RUN_KEY")}, open("model/env.json", "w"))
print("trained on", len(rows), "rows")
with open("predictions.csv", "w") as f:
    f.write("label,score\\n")
    for r in rows:
        f.write("%s,%s\\n" % (r["label"], 1.0 if float(r["x"]) > means["0"]["x"] else 0.0))
json.dump({"train": {"rows": len(rows), "auc": 0.5 + 0.01 * params.get("scale", 1)}, "loss": 0.25}, open("metrics.json", "w"))
`;

export const TRAIN_CONFIG = (store: string, extra = ''): string => `version: 1
name: churn
data:
  paths: [data]
  store: ${store}
train:
  command: python3 train.py
  params: params.yaml
  outputs: { model: model, metrics: metrics.json, predictions: predictions.csv }
${extra}`;

/** A committed git repository with data, a training script, params and a locked data snapshot. */
export async function makeTrainingProject(options: { config?: string; files?: Record<string, string> } = {}): Promise<Project> {
  const project = makeProject({
    'data/train.csv': 'x,y,label\n1,2,0\n3,4,1\n5,6,1\n0,1,0\n',
    'train.py': TRAIN_PY,
    'params.yaml': 'scale: 2\n',
    '.gitignore': '/data/\n/model/\n/metrics.json\n/predictions.csv\n.mlship/\n',
    ...options.files,
  });
  writeTree(project.root, { 'mlship.yml': options.config ?? TRAIN_CONFIG(`file://${project.store}`) });
  ageFiles(project.root);
  git(project.root, 'init', '-q');
  const snapshot = await project.run('data', 'snapshot');
  if (snapshot.error) throw snapshot.error;
  git(project.root, 'add', '-A');
  git(project.root, 'commit', '-qm', 'training code and data lock');
  return project;
}
