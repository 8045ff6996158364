/** What a command may do to the terminal: print, ask, and wait (cut short by Ctrl+C). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: escape codes (clearing the screen) are for terminals only. */
  readonly isTerminal: boolean;
  /** Reads one line of the answer; undefined when there is no input. */
  ask(question: string): Promise<string | undefined>;
  /** Resolves true after ms, false at once when the user interrupted. */
  wait(ms: number): Promise<boolean>;
}
