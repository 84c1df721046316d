/**
 * Undo stack for multi-step changes: push an undo closure after each step succeeds; on failure
 * `revert()` runs them newest first; on success `commit()` forgets them.
 *
 *   const r = new Reverter();
 *   try { a(); r.push(undoA); b(); r.push(undoB); r.commit(); }
 *   finally { await r.revert(); }   // no-op after commit
 */
export class Reverter {
  private steps: Array<{ what: string; undo: () => unknown }> = [];
  private committed = false;

  push(what: string, undo: () => unknown): void {
    this.steps.push({ what, undo });
  }

  commit(): void {
    this.committed = true;
    this.steps = [];
  }

  /** Runs every undo step (newest first) unless committed. Undo failures are collected, never thrown
   *  over the original error; they are returned for logging. */
  async revert(): Promise<Error[]> {
    if (this.committed) return [];
    const failures: Error[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `undo ${step.what}: ${e.message}`;
        failures.push(e);
      }
    }
    return failures;
  }
}
