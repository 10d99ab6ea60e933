// Book 12.9: the simulation's flight recorder. Notable events (faults, leader changes, member log
// lines, client operations) go into a ring buffer stamped with virtual time; a failure prints the
// tail, so a failing seed explains itself before anyone replays it.

export class Trace {
  private lines: string[] = [];
  private start = 0;

  constructor(
    private readonly now: () => number,
    private readonly capacity = 2000,
    /** Print every line as it happens (for --verbose replays). */
    private readonly echo?: (line: string) => void,
  ) {}

  add(line: string): void {
    const stamped = `${(this.now() / 1000).toFixed(3).padStart(8)}s ${line}`;
    this.echo?.(stamped);
    if (this.lines.length < this.capacity) this.lines.push(stamped);
    else {
      this.lines[this.start] = stamped;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The last `n` lines, oldest first. */
  tail(n: number): string[] {
    const all = [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
    return all.slice(-n);
  }
}
