/**
 * Evaluation metrics for binary classifiers: pure, exact, and fast enough for ten million
 * predictions. Values match scikit-learn 1.2.1 (Debian's; see test/fixtures/metrics) to 1e-9,
 * including where newer releases differ:
 * - roc_curve's first threshold is the highest score + 1 (1.3 and later: +Infinity);
 * - log_loss clips probabilities to [ε, 1 − ε] with ε = 2^-52, float64's machine epsilon
 *   (before 1.2: 1e-15), and renormalises (1 − p, p);
 * - calibration_curve puts a score equal to an inner bin edge in the lower bin;
 * - precision, recall and F1 are 0 where they divide by zero (zero_division="warn").
 * Where scikit-learn returns NaN or a conventional value for an undefined metric (ROC with one
 * class, AP or the PR curve with no positives), these throw MetricUndefinedError instead; log
 * loss, Brier score and calibration refuse scores outside [0, 1], and evaluateBinary reads the
 * scores as `evaluate.scores` says (scores.ts). See each module for details.
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
export { brierScore, brierTerm, calibrationBins, logLoss, logLossTerm, LOG_LOSS_EPSILON, type CalibrationBin } from './probability.js';
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
  resamplePlan,
  resampleView,
  runResamples,
  seedState,
  ResampleValues,
  type BootstrapInterval,
  type BootstrapModel,
  type BootstrapOptions,
  type MetricFunction,
} from './bootstrap.js';
export { RESAMPLE_METRICS, resampleChunk, skipResamples, type ResampleMetric, type ResamplePlan, type ResampleView } from './resample-kernel.js';
export { Xoshiro128 } from './random.js';
export { interpretScores, scoreRange, sigmoid, SCORE_KINDS, type ScoreKind, type ScoreMeaning } from './scores.js';
