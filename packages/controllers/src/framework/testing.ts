// Book 11.3: test support for reconciles: an in-memory ObjectReader over a list of objects, so a
// controller's decision can be checked without informers or an API server.
import { type KubeObject, matches } from "@corekube/api";
import type { ObjectReader } from "./types.js";

export function readerOf<T extends KubeObject>(objects: T[] = []): ObjectReader<T> & { objects: T[] } {
  return {
    objects,
    get(name, namespace) {
      return objects.find((o) => o.metadata.name === name && (o.metadata.namespace ?? undefined) === (namespace ?? undefined));
    },
    list(opts = {}) {
      return objects.filter(
        (o) => (!opts.namespace || o.metadata.namespace === opts.namespace) && (!opts.selector || matches(opts.selector, o.metadata.labels)),
      );
    },
  };
}
