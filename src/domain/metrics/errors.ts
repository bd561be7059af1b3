import { ConfigurationError } from '../../errors.js';

/**
 * The predictions are unusable as given: a file that does not parse, a label that is not 0 or 1,
 * a score that is not a finite number. The message names the line (and column) when there is one,
 * so the user can open the file at the right place. Exit 2: the input is wrong, not the world.
 */
export class PredictionsError extends ConfigurationError {}

/**
 * The metric has no value on these predictions, e.g. ROC AUC when every label is 0. It is an
 * error rather than NaN so a gate can never pass or fail on a number that means nothing;
 * bootstraps catch it to skip a resample and count it.
 */
export class MetricUndefinedError extends ConfigurationError {}
