// Book 4.1: node-wide files the runtime prepares once: the /.corekube helper directory (util-linux setpriv
// with its loader and libraries, a static busybox).
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface HostTools {
  setpriv: string;
  busybox: string;
  nsenter: string;
  unshare: string;
  mount: string;
  umount: string;
  catatonit: string;
}

export const DEFAULT_TOOLS: HostTools = {
  setpriv: "/usr/bin/setpriv",
  busybox: "/bin/busybox",
  nsenter: "/usr/bin/nsenter",
  unshare: "/usr/bin/unshare",
  mount: "/usr/bin/mount",
  umount: "/usr/bin/umount",
  catatonit: "/usr/bin/catatonit",
};

export interface PreparedHelper {
  /** Host directory bind-mounted read-only at /.corekube. */
  dir: string;
  /** Basename of the dynamic loader inside it. */
  loaderName: string;
}

/** Parses `ldd` output into the loader path and the library paths it resolves. */
export function parseLdd(text: string): { loader?: string; libraries: string[] } {
  let loader: string | undefined;
  const libraries: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const arrow = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (arrow) libraries.push(arrow[1] as string);
    else {
      const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
      if (bare) loader = bare[1];
    }
  }
  return { loader, libraries };
}

/** Builds <stateDir>/helper once (built aside, then renamed into place). */
export function prepareHelper(stateDir: string, tools: HostTools): PreparedHelper {
  const dir = join(stateDir, "helper");
  const marker = join(dir, ".loader");
  for (const [name, path] of Object.entries(tools)) {
    if (!existsSync(path)) throw new Error(`runtime needs ${name} at ${path}, which does not exist`);
  }
  if (!existsSync(marker)) {
    const ldd = parseLdd(execFileSync("ldd", [tools.setpriv], { encoding: "utf8" }));
    if (!ldd.loader) throw new Error(`could not find the dynamic loader of ${tools.setpriv} in ldd output`);
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const file of [tools.setpriv, tools.busybox, ldd.loader, ...ldd.libraries]) {
      const dest = join(tmp, basename(file));
      copyFileSync(file, dest);
      chmodSync(dest, 0o755);
    }
    writeFileSync(join(tmp, ".loader"), basename(ldd.loader));
    try {
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(marker)) throw err;
    }
  }
  const loaderName = readFileSync(marker, "utf8").trim();
  return { dir, loaderName };
}
