// Book 5.3 and 6.2: thin wrappers over iproute2 (`ip`), `nsenter` and `iptables`, run with execFile; the
// CNI bridge plugin drives the kernel through these rather than through netlink bindings.
import { execFile } from "node:child_process";

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`${command}: ${stderr.trim() || `exit status ${exitCode}`}`);
    this.name = "CommandError";
  }
}

/** Runs a command (no shell); resolves with stdout, rejects with CommandError carrying stderr. */
export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? (err as unknown as { code: number }).code : null;
        reject(new CommandError(`${file} ${args.join(" ")}`, String(stderr) || err.message, code));
      } else resolve(String(stdout));
    });
    if (input !== undefined) {
      child.stdin?.on("error", () => {});
      child.stdin?.end(input);
    }
  });
}

/** `ip ARGS` on the host. */
export function ip(...args: string[]): Promise<string> {
  return run("ip", args);
}

/** Runs several `ip` commands in one process (`ip -batch -`), optionally inside the netns at nsPath. */
export function ipBatch(lines: string[], nsPath?: string): Promise<string> {
  const input = `${lines.join("\n")}\n`;
  if (nsPath) return run("nsenter", [`--net=${nsPath}`, "ip", "-batch", "-"], input);
  return run("ip", ["-batch", "-"], input);
}

/** `ip ARGS` inside the network namespace at nsPath. */
export function ipIn(nsPath: string, ...args: string[]): Promise<string> {
  return run("nsenter", [`--net=${nsPath}`, "ip", ...args]);
}

/** `iptables -w -t TABLE ARGS`. */
export function iptables(table: string, ...args: string[]): Promise<string> {
  return run("iptables", ["-w", "5", "-t", table, ...args]);
}

/** True if `iptables -C` finds the rule. */
export async function iptablesHas(table: string, chain: string, rule: string[]): Promise<boolean> {
  try {
    await iptables(table, "-C", chain, ...rule);
    return true;
  } catch {
    return false;
  }
}

/** Appends a rule unless an identical one exists. */
export async function iptablesEnsure(table: string, chain: string, rule: string[]): Promise<void> {
  if (!(await iptablesHas(table, chain, rule))) await iptables(table, "-A", chain, ...rule);
}

/** Creates a chain; an existing chain is fine. */
export async function iptablesEnsureChain(table: string, chain: string): Promise<void> {
  try {
    await iptables(table, "-N", chain);
  } catch (e) {
    if (!/exists/i.test((e as CommandError).stderr ?? "")) throw e;
  }
}

/** Deletes every copy of a rule; a missing rule or chain is fine. */
export async function iptablesDeleteAll(table: string, chain: string, rule: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await iptables(table, "-D", chain, ...rule);
    } catch {
      return;
    }
  }
}

/** The rules of a chain as `-A ...` lines, or undefined if the chain does not exist. */
export async function iptablesRules(table: string, chain: string): Promise<string[] | undefined> {
  try {
    const out = await iptables(table, "-S", chain);
    return out.split("\n").filter((l) => l.startsWith("-A "));
  } catch {
    return undefined;
  }
}
