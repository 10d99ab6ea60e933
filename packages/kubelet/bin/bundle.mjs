// Book 5.3 and 9.4: bundles a TypeScript entry (the corekube-bridge CNI plugin, the runtime's shim) into
// one ESM file with esbuild, so each start costs a plain `node` start instead of tsx's on-the-fly
// compile. esbuild is reached through tsx.   Usage: node bundle.mjs <entry.ts> <out.mjs>
import { createRequire } from "node:module";
import { mkdirSync, realpathSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const entry = resolve(process.argv[2] ?? join(here, "../src/cni/bridge/main.ts"));
const out = process.argv[3] ?? join(root, "node_modules/.cache/corekube/corekube-bridge.mjs");
const requireFromTsx = createRequire(realpathSync(join(root, "node_modules/tsx/package.json")));
const esbuild = await import(requireFromTsx.resolve("esbuild"));
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: tmp,
  logLevel: "error",
});
renameSync(tmp, out); // atomic, so concurrent plugin calls never run a half-written bundle
