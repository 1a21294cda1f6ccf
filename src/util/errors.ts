// Error kinds the CLI maps to exit codes: usage errors exit 2, everything else 1.

/** Bad input from the user: wrong flag, unknown name. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A name that is not in the catalog; the message lists the valid ones. */
export class UnknownNameError extends UsageError {
  constructor(
    readonly kind: string,
    readonly given: string,
    readonly valid: readonly string[],
  ) {
    super(`unknown ${kind} '${given}'; valid choices: ${valid.join(', ')}`);
  }
}

/** A failure with a hint on what to do about it. Exit code 1. */
export class HintedError extends Error {
  override name = 'HintedError';
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
