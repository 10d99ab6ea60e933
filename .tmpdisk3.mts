import * as fs from "node:fs";
import { Level } from "level";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
const dir = mkdtempSync(join(tmpdir(), "wal-"));
const write = promisify(fs.write); const fdatasync = promisify(fs.fdatasync);
const SZ = Number(process.argv[2] ?? 28000);
const buf = Buffer.alloc(SZ, 120);
function rep(name: string, lat: number[]) { lat.sort((a, b) => a - b); console.log(name, SZ, "p50", lat[lat.length >> 1]!.toFixed(3), "p90", lat[Math.floor(lat.length * 0.9)]!.toFixed(3), "mean", (lat.reduce((a, b) => a + b) / lat.length).toFixed(3)); }
const db = new Level<string, string>(join(dir, "db"), { valueEncoding: "utf8", keyEncoding: "utf8", writeBufferSize: 64 * 1024 * 1024 });
await db.open();
const ops = Array.from({ length: Math.ceil(SZ / 1500) }, (_, i) => ({ type: "put" as const, key: "e" + i, value: "y".repeat(1500) }));
let lat: number[] = [];
for (let i = 0; i < 200; i++) { const t = performance.now(); await db.batch(ops, { sync: true } as never); lat.push(performance.now() - t); }
rep("level", lat);
const fa = fs.openSync(join(dir, "append"), "a");
lat = [];
for (let i = 0; i < 200; i++) { const t = performance.now(); await write(fa, buf); await fdatasync(fa); lat.push(performance.now() - t); }
rep("append", lat);
const fp = fs.openSync(join(dir, "pre"), "w+");
fs.writeSync(fp, Buffer.alloc(SZ * 200)); fs.fsyncSync(fp);
lat = [];
for (let i = 0; i < 200; i++) { const t = performance.now(); await write(fp, buf, 0, SZ, i * SZ); await fdatasync(fp); lat.push(performance.now() - t); }
rep("prealloc", lat);
await db.close();
rmSync(dir, { recursive: true });
