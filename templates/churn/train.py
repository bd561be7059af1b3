"""Trains the churn model: logistic regression on scaled numeric features and a one-hot contract.

Reads the params from params.yaml (through MLSHIP_PARAMS when run by mlship), trains on
data/train.csv, scores data/test.csv, and writes what mlship.yml declares:
  model/model.pkl    the fitted scikit-learn pipeline
  metrics.json       test metrics (nested objects are fine: mlship flattens them)
  predictions.csv    label,score for each test row (mlship evaluate scores these)
  smoke.jsonl        the first SMOKE_ROWS test rows as {"input", "label", "score"}: mlship smoke
                     sends each input to the live service and compares its score with this one
"""
import json
import os
import pickle
from pathlib import Path

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "usage_gb"]
CATEGORICAL = ["contract"]
LABEL = "churned"
SMOKE_ROWS = 200


def main() -> None:
    params = json.loads(os.environ.get("MLSHIP_PARAMS", "{}"))
    train = pd.read_csv("data/train.csv")
    test = pd.read_csv("data/test.csv")

    model = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), NUMERIC),
                        ("contract", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                    ]
                ),
            ),
            ("classifier", LogisticRegression(C=float(params.get("C", 1.0)), max_iter=int(params.get("max_iter", 1000)))),
        ]
    )
    model.fit(train[NUMERIC + CATEGORICAL], train[LABEL])

    scores = model.predict_proba(test[NUMERIC + CATEGORICAL])[:, 1]
    Path("model").mkdir(exist_ok=True)
    with open("model/model.pkl", "wb") as f:
        pickle.dump(model, f)
    metrics = {
        "test": {
            "auc": roc_auc_score(test[LABEL], scores),
            "log_loss": log_loss(test[LABEL], scores),
            "accuracy": accuracy_score(test[LABEL], scores >= 0.5),
        },
        "rows": {"train": len(train), "test": len(test)},
    }
    with open("metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
    pd.DataFrame({"label": test[LABEL], "score": scores}).to_csv("predictions.csv", index=False)
    write_smoke_cases(test, scores)
    print(f"trained on {len(train)} rows; test AUC {metrics['test']['auc']:.4f}")


def write_smoke_cases(test: pd.DataFrame, scores) -> None:
    # Values come from the frame the model scored (tolist() gives Python ints and floats), and json
    # writes floats with repr: the service parses back exactly the float64s behind each offline score.
    rows = test.head(SMOKE_ROWS)
    inputs = {column: rows[column].tolist() for column in NUMERIC + CATEGORICAL}
    labels = rows[LABEL].tolist()
    with open("smoke.jsonl", "w") as f:
        for i, label in enumerate(labels):
            case = {"input": {column: values[i] for column, values in inputs.items()}, "label": label, "score": float(scores[i])}
            f.write(json.dumps(case) + "\n")


if __name__ == "__main__":
    main()
