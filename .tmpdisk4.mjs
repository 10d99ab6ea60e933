import * as fs from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
const write = promisify(fs.write); const fdatasync = promisify(fs.fdatasync);
const [mode, dir] = process.argv.slice(2);
const SZ = 20000; const buf = Buffer.alloc(SZ, 120); const N = 300;
const fd = fs.openSync(join(dir, "f" + process.pid), mode === "pre" ? "w+" : "a");
if (mode === "pre") { fs.writeSync(fd, Buffer.alloc(SZ * N)); fs.fsyncSync(fd); }
const lat = [];
for (let i = 0; i < N; i++) { const t = performance.now(); if (mode === "pre") await write(fd, buf, 0, SZ, i * SZ); else await write(fd, buf); await fdatasync(fd); lat.push(performance.now() - t); }
lat.sort((a, b) => a - b);
console.log(mode, "p50", lat[N >> 1].toFixed(2), "p90", lat[Math.floor(N * 0.9)].toFixed(2), "mean", (lat.reduce((a, b) => a + b) / N).toFixed(2));
