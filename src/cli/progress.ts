// A progress bar on a terminal (cli-progress), silent when output is not a terminal.
import cliProgress from 'cli-progress';

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  constructor(private readonly enabled: boolean) {}

  update(instructions: number, label: string): void {
    if (!this.enabled) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          format: '{label} {value} M instructions',
          clearOnComplete: true,
          hideCursor: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(0, 0, { label });
    }
    this.bar.update(Math.round(instructions / 1e6), { label });
  }

  done(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
