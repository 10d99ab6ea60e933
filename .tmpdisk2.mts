import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
const dir = mkdtempSync(join(tmpdir(), "wal-"));
const write = promisify(fs.write); const fdatasync = promisify(fs.fdatasync);
const buf = Buffer.alloc(1500, 120);
async function run(name: string, fd: number, positional: boolean) {
  const lat: number[] = [];
  for (let i = 0; i < 400; i++) {
    const t = performance.now();
    if (positional) await write(fd, buf, 0, buf.length, i * buf.length); else await write(fd, buf);
    await fdatasync(fd);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  console.log(name, "p50", lat[200]!.toFixed(3), "p90", lat[360]!.toFixed(3), "mean", (lat.reduce((a, b) => a + b) / lat.length).toFixed(3));
}
for (let rep = 0; rep < 2; rep++) {
  const fa = fs.openSync(join(dir, "append" + rep), "a");
  await run("append", fa, false);
  const fp = fs.openSync(join(dir, "prealloc" + rep), "w+");
  fs.writeSync(fp, Buffer.alloc(4 * 1024 * 1024)); fs.fsyncSync(fp);
  await run("prealloc", fp, true);
  fs.closeSync(fa); fs.closeSync(fp);
}
rmSync(dir, { recursive: true });
