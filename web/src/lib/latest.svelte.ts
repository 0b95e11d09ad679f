// "The latest request wins": a list reloaded as its filters change asks the server again
// before the last answer came; an older, slower answer must never overwrite the newer
// one, nor its error show, nor its end clear the "loading" of the one still running.

export class Latest {
  /** The newest request is still on its way (a Waiting text, a disabled Refresh button). */
  loading = $state(false);
  #seq = 0;

  /** A request starts: every older one stops counting. The answer says whether this
   * one is still the newest (for a load `run` does not fit). */
  begin(): () => boolean {
    const mine = ++this.#seq;
    return () => mine === this.#seq;
  }

  /** An answer still on its way is no longer wanted (the box was emptied, a product
   * picked): it will be dropped, and nothing is loading. */
  cancel(): void {
    this.#seq++;
    this.loading = false;
  }

  /** Load, and hand the answer to `apply` (or the error to `fail`) only if no newer
   * request started meanwhile; `loading` is true until the newest one settles. Resolves
   * to whether this request was still the newest when it settled; never rejects. */
  async run<T>(load: () => Promise<T>, apply: (value: T) => void, fail: (error: unknown) => void): Promise<boolean> {
    const current = this.begin();
    this.loading = true;
    try {
      const value = await load();
      if (current()) apply(value);
    } catch (e) {
      if (current()) fail(e);
    } finally {
      if (current()) this.loading = false;
    }
    return current();
  }
}
