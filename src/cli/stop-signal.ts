// Ctrl-C and SIGTERM for long commands: the first one is caught and recorded so the command can stop
// at a safe point and keep its work; a second one is not caught (Node's default: the process dies at
// once, like SIGKILL).

export interface StopSignal {
  /** The signal caught, or null while none came. */
  readonly signal: NodeJS.Signals | null;
  /** 128 + the caught signal's number (130 for SIGINT, 143 for SIGTERM), as a shell reports it. */
  exitCode(): number;
  /** Stops catching. */
  release(): void;
}

/** Catches the first SIGINT or SIGTERM; `onStop` runs when it comes. */
export function catchStopSignal(onStop: (sig: NodeJS.Signals) => void = () => {}): StopSignal {
  let caught: NodeJS.Signals | null = null;
  const release = (): void => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
  const handler = (sig: NodeJS.Signals): void => {
    caught = sig;
    release();
    onStop(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get signal() {
      return caught;
    },
    exitCode: () => 128 + (caught === 'SIGTERM' ? 15 : 2),
    release,
  };
}
