"""Serves the churn model under mlship's serving contract, with FastAPI and uvicorn (Debian's packages).

  GET  /health   200 once the model is loaded and warmed up, 503 before (the image's HEALTHCHECK calls it)
  POST /predict  {"rows": [{"tenure_months": 12, "monthly_charges": 70.5, "support_calls": 2,
                 "contract": "monthly", "usage_gb": 30.1}, ...]}
                 -> {"scores": [0.42, ...], "model_version": "<MLSHIP_MODEL_VERSION>"}
                 Bad input: 422 with {"detail": [...]} naming each field that is wrong.
  GET  /metrics  Prometheus text: requests and latency per endpoint, rows scored, the model version

Every answer carries X-Model-Version and, when mlship passes MLSHIP_IMAGE_DIGEST, X-Image-Digest:
an edge or a smoke test can tell which version answered. The model is train.py's pipeline, read from
/srv/model/model.pkl, so a row scores exactly as it did offline (same features, same float64 math).
"""
import copy
import logging
import logging.config
import math
import os
import pickle
import threading
import time
import warnings
from typing import List

import pandas as pd
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, Info, generate_latest
from pydantic import BaseModel, Field, StrictStr, validator
from uvicorn.config import LOGGING_CONFIG

MODEL_PATH = os.environ.get("MODEL_PATH", "/srv/model/model.pkl")
MODEL_VERSION = os.environ.get("MLSHIP_MODEL_VERSION", "unknown")
IMAGE_DIGEST = os.environ.get("MLSHIP_IMAGE_DIGEST", "")
NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "usage_gb"]
CATEGORICAL = ["contract"]
MAX_ROWS = 10_000
ENDPOINTS = {"/health", "/predict", "/metrics"}

log = logging.getLogger("serve")

REQUESTS = Counter("mlship_http_requests", "Requests answered, by endpoint, method and status code.", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "mlship_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ROWS = Counter("mlship_predicted_rows", "Rows scored by /predict.")
LOADED = Gauge("mlship_model_loaded", "1 once the model is loaded and /health answers 200.")
Info("mlship_model", "The model this server serves, as mlship deployed it.").info(
    {
        "model_version": MODEL_VERSION,
        "data_version": os.environ.get("MLSHIP_DATA_VERSION", ""),
        "environment": os.environ.get("MLSHIP_ENVIRONMENT", ""),
        "image_digest": IMAGE_DIGEST,
    }
)


class Row(BaseModel):
    tenure_months: float
    monthly_charges: float
    support_calls: float
    usage_gb: float
    contract: StrictStr

    # Strict on purpose: pydantic would turn "12" or true into a number, and NaN would fail in the model.
    @validator(*NUMERIC, pre=True)
    def finite_number(cls, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return number


class PredictRequest(BaseModel):
    rows: List[Row] = Field(..., min_items=1, max_items=MAX_ROWS)


class LoadedModel:
    pipeline = None


MODEL = LoadedModel()


def load_model() -> None:
    """Loads the pipeline (importing scikit-learn takes seconds: /health says 503 meanwhile), or exits 1."""
    try:
        with warnings.catch_warnings():
            # A pickle from another scikit-learn may score differently from the offline predictions.
            warnings.filterwarnings("error", message="Trying to unpickle estimator", category=UserWarning)
            with open(MODEL_PATH, "rb") as f:
                pipeline = pickle.load(f)
        expected = list(getattr(pipeline, "feature_names_in_", NUMERIC + CATEGORICAL))
        if sorted(expected) != sorted(NUMERIC + CATEGORICAL):
            raise ValueError(f"the model was trained on {expected}, but this server reads {NUMERIC + CATEGORICAL}")
        # Warm up before /health says yes: a fresh process's first predictions are many times slower
        # (lazy imports, first allocations), and a rolling update sends it traffic once it is healthy.
        warm = pd.DataFrame([{**{name: 1.0 for name in NUMERIC}, "contract": "monthly"}], columns=NUMERIC + CATEGORICAL)
        for _ in range(5):
            pipeline.predict_proba(warm)
        MODEL.pipeline = pipeline
        LOADED.set(1)
        log.info("serving model %s from %s", MODEL_VERSION, MODEL_PATH)
    except Exception as error:  # noqa: BLE001 - whatever stops the model from loading ends the server
        log.error("cannot serve %s: %s: %s", MODEL_PATH, type(error).__name__, error)
        logging.shutdown()
        os._exit(1)


app = FastAPI(title="churn", docs_url=None, redoc_url=None)


@app.middleware("http")
async def measure_and_label(request: Request, call_next) -> Response:
    started = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception:  # noqa: BLE001 - answered here so that it is counted and labelled like any answer
        log.exception("%s %s failed", request.method, request.url.path)
        response = JSONResponse({"detail": "internal error"}, status_code=500)
    endpoint = request.url.path if request.url.path in ENDPOINTS else "other"
    LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    response.headers["X-Model-Version"] = MODEL_VERSION
    if IMAGE_DIGEST:
        response.headers["X-Image-Digest"] = IMAGE_DIGEST
    return response


@app.get("/health")
def health() -> JSONResponse:
    if MODEL.pipeline is None:
        return JSONResponse({"status": "loading", "model_version": MODEL_VERSION}, status_code=503)
    return JSONResponse({"status": "ok", "model_version": MODEL_VERSION})


@app.post("/predict")
def predict(request: PredictRequest) -> JSONResponse:
    pipeline = MODEL.pipeline
    if pipeline is None:
        return JSONResponse({"detail": "the model is still loading"}, status_code=503)
    frame = pd.DataFrame([row.dict() for row in request.rows], columns=NUMERIC + CATEGORICAL)
    scores = pipeline.predict_proba(frame)[:, 1]
    ROWS.inc(len(scores))
    # tolist() gives Python floats, which JSON writes with repr: the client reads back the same float64s.
    return JSONResponse({"scores": scores.tolist(), "model_version": MODEL_VERSION})


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


if __name__ == "__main__":
    # uvicorn's log format for this server's own lines too, set before the model starts loading.
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["serve"] = {"handlers": ["default"], "level": "INFO"}
    logging.config.dictConfig(log_config)
    threading.Thread(target=load_model, name="load-model", daemon=True).start()
    # No access log: one line per request is noise under load, and /metrics counts every request.
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), log_config=log_config, access_log=False)
