/** What a command may do to the terminal: print, ask, and wait (cut short by Ctrl+C). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads one line of the answer; undefined when there is no input. */
  ask(question: string): Promise<string | undefined>;
  /** Resolves true after ms, false at once when the user interrupted. */
  wait(ms: number): Promise<boolean>;
}
