/** An error answer of the daemon (or a failed operation), with the daemon's own wording. */
export class LxdApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'LxdApiError';
  }
}
