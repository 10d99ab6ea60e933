// Book 12.3: why LIST is fast from the watch cache — objects there never change (an update stores a
// new object), so each one is turned into JSON once and a list response is those strings joined.
const memo = new WeakMap<object, string>();

/** JSON text of an object that is never mutated (a watch-cache entry); computed once per object. */
export function frozenJson(obj: object): string {
  let s = memo.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    memo.set(obj, s);
  }
  return s;
}

/** `{"kind":...,"apiVersion":...,"metadata":...,"items":[...]}` without re-serializing the items. */
export function listJson(kind: string, apiVersion: string, metadata: Record<string, unknown>, items: readonly object[]): string {
  let out = `{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ",";
    out += frozenJson(items[i]!);
  }
  return out + "]}";
}
