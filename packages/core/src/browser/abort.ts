/** The error an aborted `signal` rejects with: its reason, or a DOMException named `AbortError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Throws {@link abortReason} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Whether `e` is what an aborted operation throws. */
export function isAbortError(e: unknown): boolean {
  return (e as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * A signal that aborts when any of `signals` does, with that one's reason; `release()` drops
 * its listeners from the inputs (call it when the operation ends, so long-lived signals do
 * not collect one listener per call).
 */
export function linkSignals(signals: (AbortSignal | undefined)[]): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const listeners = new AbortController();
  for (const s of signals) {
    if (s == null) continue;
    if (s.aborted) {
      controller.abort(abortReason(s));
      break;
    }
    s.addEventListener('abort', () => controller.abort(abortReason(s)), { once: true, signal: listeners.signal });
  }
  return { signal: controller.signal, release: () => listeners.abort() };
}
