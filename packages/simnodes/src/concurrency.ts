// Book 11.2.3: small helpers for talking to the API server at scale: bounded concurrency and retries
// of the answers that say "try again" (429, 5xx, a dropped connection).
import { StatusError, codeOf } from "@corekube/api";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `limit` calls in flight; results in item order. Rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
  return out;
}

/** Whether an error is worth retrying: throttling, server trouble, or no answer at all. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof StatusError)) return true;
  const code = codeOf(err);
  return code === 429 || code >= 500;
}

/** Calls fn until it succeeds, a non-transient error, or `attempts` tries, backing off 100 ms, 200 ms, 400 ms... */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i + 1 >= attempts || !isTransient(e)) throw e;
      await sleep(100 * 2 ** i);
    }
  }
}
