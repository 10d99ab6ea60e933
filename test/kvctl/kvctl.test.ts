// Book 12.10: `corekube kvctl` run in-process (kvctlMain with captured output) against a real etcd (or
// corekube kv, see ../client/target.ts): etcdctl output formats, hex ids, --help, exit codes 1 and 2.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, kvctlMain } from "../../packages/kv/src/kvctl/main.js";
import type { EtcdCluster } from "../support/etcd-cluster.js";
import { deadEndpoint } from "../client/fakes.js";
import { startTarget, TARGET, targetAvailable } from "../client/target.js";

interface Run {
  code: number;
  out: string;
  err: string;
}

describe.skipIf(!targetAvailable())(`kvctl against ${TARGET}`, () => {
  let etcd: EtcdCluster;
  let ep: string;

  async function kvctl(args: string[], opts: { signal?: AbortSignal; stdin?: string; onOut?: (all: string) => void } = {}): Promise<Run> {
    const chunks: Buffer[] = [];
    let err = "";
    const code = await kvctlMain(["--endpoints", ep, ...args], {
      stdout: (c) => {
        chunks.push(Buffer.from(c));
        opts.onOut?.(Buffer.concat(chunks).toString("utf8"));
      },
      stderr: (t) => void (err += t),
      signal: opts.signal,
      stdin: opts.stdin === undefined ? undefined : async () => opts.stdin!,
    });
    return { code, out: Buffer.concat(chunks).toString("utf8"), err };
  }

  /** Runs a long command (watch, keep-alive) until its output satisfies `done`, then interrupts it. */
  async function until(args: string[], done: (out: string) => boolean, act: () => Promise<void> = async () => undefined): Promise<Run> {
    const ac = new AbortController();
    const run = kvctl(args, { signal: ac.signal, onOut: (all) => done(all) && ac.abort() });
    await act();
    const timer = setTimeout(() => ac.abort(), 5000);
    const r = await run;
    clearTimeout(timer);
    return r;
  }

  async function revision(): Promise<number> {
    const r = await kvctl(["get", "/none", "-w", "json"]);
    return (JSON.parse(r.out) as { header: { revision: number } }).header.revision;
  }

  beforeAll(async () => {
    etcd = await startTarget();
    ep = etcd.endpoints[0]!;
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it("puts and gets like etcdctl (simple, value-only, keys-only, count-only, json, table)", async () => {
    expect(await kvctl(["put", "/k/foo", "bar"])).toEqual({ code: 0, out: "OK\n", err: "" });
    await kvctl(["put", "/k/zoo", "ünïcode"]);
    expect((await kvctl(["get", "/k/foo"])).out).toBe("/k/foo\nbar\n");
    expect((await kvctl(["get", "--prefix", "/k/"])).out).toBe("/k/foo\nbar\n/k/zoo\nünïcode\n");
    expect((await kvctl(["get", "/k/", "--prefix", "--print-value-only"])).out).toBe("bar\nünïcode\n");
    expect((await kvctl(["get", "/k/", "--prefix", "--keys-only"])).out).toBe("/k/foo\n\n/k/zoo\n\n");
    expect((await kvctl(["get", "/k/", "--prefix", "--count-only"])).out).toBe("2\n");
    expect((await kvctl(["get", "/k/", "--prefix", "--limit", "1"])).out).toBe("/k/foo\nbar\n");
    expect((await kvctl(["get", "/k/a", "/k/g"])).out).toBe("/k/foo\nbar\n");
    expect((await kvctl(["get", "/k/g", "--from-key"])).out).toContain("/k/zoo\nünïcode\n");
    expect((await kvctl(["get", "/k/", "--prefix", "--order", "DESCEND", "--keys-only"])).out).toBe("/k/zoo\n\n/k/foo\n\n");
    expect((await kvctl(["get", "/k/foo", "--hex"])).out).toBe("\\x2f\\x6b\\x2f\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n");

    const json = JSON.parse((await kvctl(["get", "/k/foo", "-w", "json"])).out);
    expect(json.kvs[0]).toMatchObject({ key: Buffer.from("/k/foo").toString("base64"), value: "YmFy", version: 1 });
    expect(typeof json.header.revision).toBe("number");
    expect(json.count).toBe(1);
    const tbl = (await kvctl(["get", "/k/", "--prefix", "--write-out=table"])).out;
    expect(tbl).toMatch(/\|\s+KEY\s+\|\s+VALUE\s+\|/);
    expect(tbl).toContain("ünïcode");
  });

  it("reads at a revision, puts with --prev-kv and from stdin, deletes with --prev-kv", async () => {
    await kvctl(["put", "/p/a", "1"]);
    const rev = await revision();
    expect((await kvctl(["put", "/p/a", "2", "--prev-kv"])).out).toBe("OK\n/p/a\n1\n");
    expect((await kvctl(["get", "/p/a", "--rev", String(rev)])).out).toBe("/p/a\n1\n");
    expect((await kvctl(["put", "/p/b"], { stdin: "from stdin" })).code).toBe(0);
    expect((await kvctl(["get", "/p/b", "--print-value-only"])).out).toBe("from stdin\n");
    expect((await kvctl(["del", "/p/", "--prefix", "--prev-kv"])).out).toBe("2\n/p/a\n2\n/p/b\nfrom stdin\n");
    expect((await kvctl(["del", "/p/a"])).out).toBe("0\n");
    expect(JSON.parse((await kvctl(["put", "/p/c", "x", "-w", "json"])).out).header.revision).toBeGreaterThan(rev);
  });

  it("watches until interrupted, printing events like etcdctl", async () => {
    const from = (await revision()) + 1;
    const r = await until(["watch", "/wk/", "--prefix", "--prev-kv", "--rev", String(from)], (o) => o.includes("DELETE"), async () => {
      await kvctl(["put", "/wk/a", "1"]);
      await kvctl(["put", "/wk/a", "2"]);
      await kvctl(["del", "/wk/a"]);
    });
    expect(r).toEqual({ code: 0, out: "PUT\n/wk/a\n1\nPUT\n/wk/a\n1\n/wk/a\n2\nDELETE\n/wk/a\n2\n/wk/a\n\n", err: "" });

    const j = await until(["watch", "/wk/a", "-w", "json", "--rev", String(from)], (o) => o.includes('"type":1'));
    const lines = j.out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ Canceled: false, Created: false, CompactRevision: 0 });
    const events = lines.flatMap((l: { Events: { type?: number; kv: { value?: string } }[] }) => l.Events);
    expect(events.map((e) => [e.type ?? 0, e.kv.value ?? ""])).toEqual([[0, "MQ=="], [0, "Mg=="], [1, ""]]);
  });

  it("reports a watch canceled by compaction with exit code 1", async () => {
    await kvctl(["put", "/cw", "1"]);
    const old = await revision();
    await kvctl(["put", "/cw", "2"]);
    const now = await revision();
    expect(await kvctl(["compaction", String(now)])).toEqual({ code: 0, out: `compacted revision ${now}\n`, err: "" });
    const r = await kvctl(["watch", "/cw", "--rev", String(old)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^watch was canceled \(.*compacted/);
    const again = await kvctl(["compaction", String(old)]);
    expect(again).toEqual({ code: 1, out: "", err: "Error: etcdserver: mvcc: required revision has been compacted\n" });
  });

  it("grants, lists, inspects, keeps alive and revokes leases by hex id", async () => {
    const g = await kvctl(["lease", "grant", "60"]);
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(g.out);
    expect(m).not.toBeNull();
    const id = m![1]!;
    expect((await kvctl(["put", "/lk", "v", "--lease", id])).code).toBe(0);
    expect((await kvctl(["lease", "list"])).out).toContain(`\n${id}\n`);
    expect((await kvctl(["lease", "timetolive", id, "--keys"])).out).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[/lk\\]\\)\\n$`));
    expect((await kvctl(["lease", "keep-alive", "--once", id])).out).toBe(`lease ${id} keepalived with TTL(60)\n`);
    const ka = await until(["lease", "keep-alive", id], (o) => o.includes("keepalived"));
    expect(ka.code).toBe(0);
    expect(ka.out).toMatch(new RegExp(`^lease ${id} keepalived with TTL\\(60\\)\\n`));
    const ttlText = (await kvctl(["lease", "timetolive", id, "-w", "json"])).out;
    const ttlJson = JSON.parse(ttlText);
    expect(ttlJson["granted-ttl"]).toBe(60);
    expect(ttlJson.ttl).toBeGreaterThan(50);
    // 64-bit ids are written digit for digit (JSON.parse would round them)
    expect(BigInt(/"id":(\d+)/.exec(ttlText)![1]!).toString(16).padStart(16, "0")).toBe(id);
    expect((await kvctl(["lease", "revoke", id])).out).toBe(`lease ${id} revoked\n`);
    expect((await kvctl(["get", "/lk"])).out).toBe("");
    expect((await kvctl(["lease", "timetolive", id])).out).toBe(`lease ${id} already expired\n`);
    expect(await kvctl(["lease", "keep-alive", "--once", id])).toMatchObject({ code: 1, err: "Error: etcdserver: requested lease not found\n" });
    expect(await kvctl(["lease", "revoke", "0x" + id])).toMatchObject({ code: 1, err: "Error: etcdserver: requested lease not found\n" });
  });

  it("lists, adds and removes members; shows endpoint status and health", async () => {
    const list = await kvctl(["member", "list"]);
    expect(list.out).toMatch(new RegExp(`^[0-9a-f]+, started, [^,]+, https?://[^,]+, ${ep}, false\\n$`));
    const id = list.out.split(",")[0]!;
    expect((await kvctl(["member", "list", "-w", "table"])).out).toContain("| IS LEARNER |");
    const rawId = /"members":\[\{"ID":(\d+),/.exec((await kvctl(["member", "list", "-w", "json"])).out)![1]!;
    expect(BigInt(rawId).toString(16)).toBe(id); // 64-bit ids are written digit for digit

    const add = await kvctl(["member", "add", "newbie", "--peer-urls", "http://127.0.0.1:25997", "--learner"]);
    expect(add.code).toBe(0);
    const added = /^Member ([ 0-9a-f]{16}) added to cluster ([ 0-9a-f]{16})\n\nETCD_NAME="newbie"\n/.exec(add.out);
    expect(added).not.toBeNull();
    expect(add.out).toContain('ETCD_INITIAL_CLUSTER="');
    expect(add.out).toContain("newbie=http://127.0.0.1:25997");
    expect(add.out).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"\n');
    const newId = added![1]!.trim();
    expect((await kvctl(["member", "list"])).out).toContain(`${newId}, unstarted, , http://127.0.0.1:25997, , true`);
    expect((await kvctl(["member", "remove", newId])).out).toMatch(new RegExp(`^Member ${newId.padStart(16)} removed from cluster [ 0-9a-f]{16}\\n$`));
    expect(await kvctl(["member", "remove", newId])).toMatchObject({ code: 1, err: "Error: etcdserver: member not found\n" });

    expect((await kvctl(["endpoint", "status"])).out).toMatch(new RegExp(`^${ep}, ${id}, 3\\.4\\.23, \\d+(\\.\\d)? (B|kB|MB), true, false, \\d+, \\d+, \\d+, \\n$`));
    expect((await kvctl(["endpoint", "status", "-w", "table"])).out).toContain("| RAFT APPLIED INDEX |");
    const sj = JSON.parse((await kvctl(["endpoint", "status", "-w", "json", "--cluster"])).out);
    expect(sj[0]).toMatchObject({ Endpoint: ep, Status: { version: "3.4.23" } });
    expect((await kvctl(["endpoint", "health"])).out).toMatch(new RegExp(`^${ep} is healthy: successfully committed proposal: took = [\\d.]+(ms|µs|s)\\n$`));
    expect(JSON.parse((await kvctl(["endpoint", "health", "-w", "json"])).out)[0]).toMatchObject({ endpoint: ep, health: true });

    const dead = await deadEndpoint();
    const h = await kvctl(["endpoint", "health", "--endpoints", `${ep},${dead}`]);
    expect(h.code).toBe(1);
    expect(h.out).toContain(`${ep} is healthy`);
    expect(h.err).toContain(`${dead} is unhealthy: failed to commit proposal: `);
    expect(h.err).toContain("Error: unhealthy cluster\n");
    expect(await kvctl(["move-leader", "1234"])).toMatchObject({ code: 1, err: "Error: etcdserver: bad leader transferee\n" });
  });

  it("prints --help for kvctl, every command and every group", async () => {
    const top = await kvctl(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(c.path.join(" "));
      const h = await kvctl([...c.path, "--help"]);
      expect(h.code).toBe(0);
      expect(h.out).toContain(`USAGE:\n\tkvctl ${c.usage}`);
      for (const f of c.flags) expect(h.out).toContain(`--${f.name}`);
    }
    expect((await kvctl(["help", "lease", "grant"])).out).toContain("kvctl lease grant <ttl>");
    expect((await kvctl(["lease", "-h"])).out).toContain("keep-alive");
    expect((await kvctl(["get", "-h"])).out).toContain("--print-value-only");
  });

  it("answers bad input with a clear message and exit code 2, server and connection failures with 1", async () => {
    const cases: [string[], RegExp][] = [
      [["bogus"], /unknown command "bogus"/],
      [["get"], /expected 1 to 2 arguments, got 0/],
      [["get", "k", "--nope"], /unknown flag: --nope/],
      [["get", "k", "--rev", "abc"], /invalid argument "abc" for "--rev"/],
      [["get", "k", "-w", "yaml"], /output format "yaml" is not one of simple, json, table/],
      [["put", "k", "v", "-w", "table"], /has no table output/],
      [["put", "k", "v", "--lease", "xyz"], /lease id "xyz" is not a hex number/],
      [["lease", "grant", "-5"], /unknown shorthand flag|bad TTL/],
      [["lease", "grant", "ten"], /bad TTL "ten"/],
      [["lease"], /missing subcommand for "lease"/],
      [["member", "frob"], /unknown subcommand "frob"/],
      [["member", "add", "x"], /needs its peer URLs/],
      [["get", "k", "--endpoints", "ftp://x"], /only http and https/],
      [["get", "k", "--command-timeout", "soon"], /not a duration/],
      [["compaction", "-1"], /unknown shorthand flag|bad revision/],
    ];
    for (const [args, msg] of cases) {
      const r = await kvctl(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(msg);
      expect(r.err).not.toContain("    at ");
    }
    const future = await kvctl(["get", "k", "--rev", "999999999"]);
    expect(future).toEqual({ code: 1, out: "", err: "Error: etcdserver: mvcc: required revision is a future revision\n" });
    const dead = await deadEndpoint();
    const refused = await kvctlMain(["get", "k", "--endpoints", dead], { stdout: () => undefined, stderr: (t) => void (refusedErr += t) });
    expect(refused).toBe(1);
    expect(refusedErr).toMatch(/^Error: connection error: ECONNREFUSED/);
  });
});

let refusedErr = "";
