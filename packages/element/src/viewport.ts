/** Called with whether the element is within the observer's margin of the viewport. */
type NearCallback = (near: boolean) => void;

interface SharedObserver {
  observer: IntersectionObserver;
  callbacks: Map<Element, NearCallback>;
}

// One IntersectionObserver per root margin for the whole page, not one per element.
const observers = new Map<string, SharedObserver>();

/**
 * Calls `callback(true)` when `element` comes within `rootMargin` of the viewport and
 * `callback(false)` when it leaves; returns the function that stops watching.
 */
export function watchNearViewport(element: Element, rootMargin: string, callback: NearCallback): () => void {
  let shared = observers.get(rootMargin);
  if (shared == null) {
    const callbacks = new Map<Element, NearCallback>();
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) callbacks.get(entry.target)?.(entry.isIntersecting);
      },
      { rootMargin },
    );
    shared = { observer, callbacks };
    observers.set(rootMargin, shared);
  }
  const { observer, callbacks } = shared;
  callbacks.set(element, callback);
  observer.observe(element);
  return () => {
    if (callbacks.get(element) !== callback) return;
    callbacks.delete(element);
    observer.unobserve(element);
  };
}
