// Book 5.2 and 10.3: the cluster DNS benchmark: queries per second our server answers on loopback,
// for a cluster name (from the record index) and for a forwarded name served from the cache.
//
//   npx tsx bench/dns/run.ts [--quick] [--seconds S] [--sockets N] [--inflight W]
//
// The server runs in its own process (bench/dns/server.ts). The load comes from Debian's dnsperf when
// it is installed, else from our own generator here: N UDP sockets, each keeping W queries in flight
// (a query lost for over a second is sent again and counted lost). Prints figures against our
// target (≥ 20,000 queries/s); asserts nothing.
import { execFileSync, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dnsPacket } from "../../packages/dns/src/stub.js";

const TARGET_QPS = 20_000;
const argv = process.argv.slice(2);
const KNOWN = ["--quick", "--seconds", "--sockets", "--inflight"];
for (const [i, a] of argv.entries()) {
  if (a.startsWith("--") && !KNOWN.includes(a)) {
    console.error(`unknown flag ${a} (known: ${KNOWN.join(", ")})`);
    process.exit(2);
  }
  if (!a.startsWith("--") && !(i > 0 && KNOWN.slice(1).includes(argv[i - 1]!))) {
    console.error(`unexpected argument "${a}"`);
    process.exit(2);
  }
}
function numFlag(name: string, dflt: number, min: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`${name} needs a whole number ≥ ${min}, got "${argv[i + 1] ?? ""}"`);
    process.exit(2);
  }
  return v;
}
const quick = argv.includes("--quick");
const SECONDS = numFlag("--seconds", quick ? 2 : 5, 1);
const SOCKETS = numFlag("--sockets", 8, 1);
const INFLIGHT = numFlag("--inflight", 32, 1);

const here = dirname(fileURLToPath(import.meta.url));

async function startServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "server.ts")], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve((JSON.parse(line!) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`bench server exited (${code}) before listening`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((r) => {
        child.once("exit", () => r());
        child.stdin!.end();
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}

interface Figure {
  qps: number;
  answered: number;
  lost: number;
  wrong: number;
}

/** Our load generator: sockets × in-flight window, ids patched into one encoded query. */
async function ourLoad(port: number, name: string, seconds: number): Promise<Figure> {
  const template = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A" }] });
  let answered = 0;
  let lost = 0;
  let wrong = 0;
  let running = true;
  const socks: Socket[] = [];
  const sweeps: NodeJS.Timeout[] = [];
  for (let s = 0; s < SOCKETS; s++) {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const sentAt = new Map<number, number>();
    let next = 0;
    const send = () => {
      if (!running) return;
      const id = (next = (next + 1) & 0xffff);
      const msg = Buffer.from(template);
      msg.writeUInt16BE(id, 0);
      sentAt.set(id, Date.now());
      sock.send(msg, port, "127.0.0.1");
    };
    sock.on("message", (m) => {
      const id = m.readUInt16BE(0);
      if (!sentAt.delete(id)) return;
      // NOERROR with at least one answer, or it does not count.
      if ((m.readUInt16BE(2) & 0xf) === 0 && m.readUInt16BE(6) > 0) answered++;
      else wrong++;
      send();
    });
    sweeps.push(
      setInterval(() => {
        const old = Date.now() - 1000;
        for (const [id, t] of sentAt) {
          if (t > old) continue;
          sentAt.delete(id);
          lost++;
          send();
        }
      }, 250),
    );
    socks.push(sock);
    for (let i = 0; i < INFLIGHT; i++) send();
  }
  // Warm-up second, then count.
  await new Promise((r) => setTimeout(r, 500));
  const start = { answered, lost, wrong, t: process.hrtime.bigint() };
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const secs = Number(process.hrtime.bigint() - start.t) / 1e9;
  const fig = { qps: (answered - start.answered) / secs, answered: answered - start.answered, lost: lost - start.lost, wrong: wrong - start.wrong };
  running = false;
  for (const t of sweeps) clearInterval(t);
  for (const s of socks) s.close();
  return fig;
}

/** Debian's dnsperf against the same server, if it is installed. */
function dnsperfLoad(port: number, name: string, seconds: number): Figure {
  const dir = mkdtempSync(join(tmpdir(), "corekube-dnsperf-"));
  try {
    writeFileSync(join(dir, "queries"), `${name} A\n`);
    const out = execFileSync("dnsperf", ["-s", "127.0.0.1", "-p", String(port), "-d", join(dir, "queries"), "-l", String(seconds), "-c", String(SOCKETS), "-q", String(SOCKETS * INFLIGHT)], { encoding: "utf8" });
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
    return { qps: num(/Queries per second:\s+([\d.]+)/), answered: num(/Queries completed:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), wrong: 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const haveDnsperf = (() => {
  try {
    execFileSync("sh", ["-c", "command -v dnsperf"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const server = await startServer();
try {
  const tool = haveDnsperf ? "dnsperf" : `our generator (${SOCKETS} sockets × ${INFLIGHT} in flight)`;
  console.log(`cluster DNS benchmark: server in its own process, ${cpus().length} CPUs, load from ${tool}, ${SECONDS} s per case`);
  const cases: [string, string][] = [
    ["cluster name (record index)", "web.default.svc.cluster.local"],
    ["forwarded name (cache hit)", "example.com"],
  ];
  for (const [label, name] of cases) {
    const f = haveDnsperf ? dnsperfLoad(server.port, name, SECONDS) : await ourLoad(server.port, name, SECONDS);
    const ratio = f.qps / TARGET_QPS;
    console.log(
      `${label.padEnd(30)} ${Math.round(f.qps).toLocaleString("en").padStart(8)} q/s   (${f.answered} answered, ${f.lost} lost, ${f.wrong} wrong)   ` +
        `target ≥ ${TARGET_QPS.toLocaleString("en")}/s: ×${ratio.toFixed(2)} ${ratio >= 1 ? "met" : "NOT met"}`,
    );
  }
} finally {
  await server.stop();
}
