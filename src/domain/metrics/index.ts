/**
 * Evaluation metrics for binary classifiers: pure, exact (matching scikit-learn 1.2.1 to 1e-9),
 * and fast enough for ten million predictions. See each module for the definitions.
 */
export { MetricUndefinedError, PredictionsError } from './errors.js';
export { checkPredictions, type PredictionSet } from './predictions.js';
export { parsePredictions, type ParseOptions, type PredictionsFormat } from './parse.js';
export {
  averagePrecision,
  averagePrecisionOf,
  precisionRecallCurve,
  precisionRecallCurveOf,
  rank,
  rocAuc,
  rocAucOf,
  rocCurve,
  rocCurveOf,
  type PrecisionRecallCurve,
  type Ranking,
  type RocCurve,
} from './ranking.js';
export { brierScore, calibrationBins, logLoss, LOG_LOSS_EPSILON, type CalibrationBin } from './probability.js';
export {
  accuracy,
  confusion,
  DEFAULT_THRESHOLD,
  f1,
  precision,
  recall,
  thresholdMetricsOf,
  type Confusion,
  type ThresholdMetrics,
} from './threshold.js';
export {
  evaluateBinary,
  evaluateByGroup,
  METRIC_DIRECTION,
  type BinaryEvaluation,
  type EvaluateOptions,
  type GroupEvaluation,
  type MetricDirection,
  type MetricName,
} from './evaluate.js';
export {
  bootstrapInterval,
  pairedBootstrapDifference,
  percentile,
  type BootstrapInterval,
  type BootstrapOptions,
  type MetricFunction,
} from './bootstrap.js';
export { Xoshiro128 } from './random.js';
