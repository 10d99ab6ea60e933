// Book 9.4: how the runtime starts its own small node processes (the per-pod shim, the spawn helper): from
// a plain JS bundle made by bin/bundle.mjs when a source in this directory is newer, with a small heap;
// through tsx when no bundle can be built.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SMALL_HEAP = ["--max-semi-space-size=1", "--max-old-space-size=64"];

/** argv that runs `entry` (a .ts file of src/runtime) as its own node process. */
export function bundledNodeCommand(entry: string): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = join(here, "..", "..", "..", "..");
  const bundle = join(root, "node_modules", ".cache", "corekube", entry.replace(/\.ts$/, ".mjs"));
  try {
    const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
    const stale = readdirSync(here).some((f) => f.endsWith(".ts") && statSync(join(here, f)).mtimeMs > built);
    if (stale) execFileSync(process.execPath, [join(here, "..", "..", "bin", "bundle.mjs"), join(here, entry), bundle], { stdio: "ignore" });
    return [process.execPath, ...SMALL_HEAP, bundle];
  } catch {
    const require = createRequire(import.meta.url);
    const loader = join(dirname(require.resolve("tsx/package.json")), "dist", "loader.mjs");
    return [process.execPath, ...SMALL_HEAP, "--import", loader, join(here, entry)];
  }
}
