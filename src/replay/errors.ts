// The error replay throws for runs it cannot replay and for bad replay options.

/** A run that cannot be replayed, or bad replay options: the message is one line, ready to print. */
export class ReplayError extends Error {
  constructor(
    message: string,
    /** true when the caller's options are wrong (the CLI exits 2), false when the trace is. */
    readonly usage = false,
  ) {
    super(message);
    this.name = 'ReplayError';
  }
}
