// Book 5.3: bundles the corekube-bridge plugin (TypeScript) into one ESM file with esbuild, so each CNI
// call costs a plain `node` start instead of tsx's on-the-fly compile. esbuild is reached through tsx.
import { createRequire } from "node:module";
import { mkdirSync, realpathSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const out = process.argv[2] ?? join(root, "node_modules/.cache/corekube/corekube-bridge.mjs");
const requireFromTsx = createRequire(realpathSync(join(root, "node_modules/tsx/package.json")));
const esbuild = await import(requireFromTsx.resolve("esbuild"));
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
await esbuild.build({
  entryPoints: [join(here, "../src/cni/bridge/main.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: tmp,
  logLevel: "error",
});
renameSync(tmp, out); // atomic, so concurrent plugin calls never run a half-written bundle
