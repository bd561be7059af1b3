"""Serves the churn model over HTTP (standard library only, so the image needs just Debian's packages).

POST /predict with {"rows": [{"tenure_months": 12, "monthly_charges": 70.5, "support_calls": 2,
"contract": "monthly", "usage_gb": 30.1}, ...]} answers {"scores": [0.42, ...], "model": "<version>"}.
GET /health answers 200 once the model is loaded: the image's HEALTHCHECK and rollouts use it.
"""
import json
import os
import pickle
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd

MODEL_PATH = os.environ.get("MODEL_PATH", "/srv/model/model.pkl")
MODEL_VERSION = os.environ.get("MLSHIP_MODEL_VERSION", "unknown")
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract", "usage_gb"]

with open(MODEL_PATH, "rb") as f:
    MODEL = pickle.load(f)


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, {"status": "ok", "model": MODEL_VERSION})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._reply(404, {"error": "not found"})
            return
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            frame = pd.DataFrame(payload["rows"], columns=FEATURES)
            scores = MODEL.predict_proba(frame)[:, 1]
        except (KeyError, ValueError, TypeError) as error:
            self._reply(400, {"error": f"expected {{\\"rows\\": [...]}} with {FEATURES}: {error}"})
            return
        self._reply(200, {"scores": [float(s) for s in scores], "model": MODEL_VERSION})

    def log_message(self, format: str, *args) -> None:  # quiet: one line per request is noise under load
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
