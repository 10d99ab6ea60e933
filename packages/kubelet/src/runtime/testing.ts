// Book 4.1: a one-layer busybox root filesystem for tests and benchmarks: a static busybox plus its
// applet links, the smallest image that still has a shell, id, ls, nc and sleep.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Fills `dir` with /bin/busybox, its applet symlinks (made inside a chroot so they point at /bin/busybox), and a passwd/group. */
export function buildBusyboxRootfs(dir: string, busybox = "/bin/busybox"): string {
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(busybox, join(dir, "bin", "busybox"));
  execFileSync("chroot", [dir, "/bin/busybox", "--install", "-s", "/bin"]);
  writeFileSync(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
  writeFileSync(join(dir, "etc", "group"), "root:x:0:\nusers:x:100:user\nuser:x:1000:\n");
  return dir;
}
