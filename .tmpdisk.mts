import { Level } from "level";
import { mkdtempSync, rmSync, openSync, writeSync, fdatasyncSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as fs from "node:fs";
const dir = mkdtempSync(join(tmpdir(), "lvl-"));
const db = new Level<string, string>(join(dir, "db"), { valueEncoding: "utf8", keyEncoding: "utf8", writeBufferSize: 64 * 1024 * 1024 });
await db.open();
const v = "x".repeat(1500);
const lat: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  await db.batch([{ type: "put", key: "e" + i, value: v }], { sync: true } as never);
  lat.push(performance.now() - t);
}
lat.sort((a, b) => a - b);
console.log("level sync batch p50", lat[150]!.toFixed(3), "p90", lat[270]!.toFixed(3));
const lat2: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  await db.batch([{ type: "put", key: "h", value: "abc" + i }], { sync: false } as never);
  lat2.push(performance.now() - t);
}
lat2.sort((a, b) => a - b);
console.log("level nosync batch p50", lat2[150]!.toFixed(3), "p90", lat2[270]!.toFixed(3));
const fd = openSync(join(dir, "wal"), "a");
const lat3: number[] = [];
const fdatasync = promisify(fs.fdatasync);
const write = promisify(fs.write);
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  await write(fd, Buffer.from(v));
  await fdatasync(fd);
  lat3.push(performance.now() - t);
}
lat3.sort((a, b) => a - b);
console.log("fs write+fdatasync async p50", lat3[150]!.toFixed(3), "p90", lat3[270]!.toFixed(3));
const lat4: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  writeSync(fd, v);
  fdatasyncSync(fd);
  lat4.push(performance.now() - t);
}
lat4.sort((a, b) => a - b);
console.log("fs write+fdatasync sync p50", lat4[150]!.toFixed(3), "p90", lat4[270]!.toFixed(3));
closeSync(fd);
await db.close();
rmSync(dir, { recursive: true });
