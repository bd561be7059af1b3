/** Outputs several commands report, described once so action.yml and help agree. */
export const MODEL_VERSION_OUTPUT = { 'model-version': 'Content hash of the model output (sha256:…): the model version.' } as const;
