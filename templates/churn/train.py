"""Trains the churn model: logistic regression on scaled numeric features and a one-hot contract.

Reads the params from params.yaml (through MLSHIP_PARAMS when run by mlship), trains on
data/train.csv, scores data/test.csv, and writes what mlship.yml declares:
  model/model.pkl    the fitted scikit-learn pipeline
  metrics.json       test metrics (nested objects are fine: mlship flattens them)
  predictions.csv    label,score for each test row (mlship evaluate scores these)
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
    print(f"trained on {len(train)} rows; test AUC {metrics['test']['auc']:.4f}")


if __name__ == "__main__":
    main()
