// Book 12.10: kvctl's --help texts, laid out like etcdctl's (NAME, USAGE, OPTIONS, GLOBAL OPTIONS)
// and generated from each command's flag table, so they cannot drift from what is parsed.
import type { FlagSpec } from "./args.js";
import type { Command } from "./context.js";

function flagLines(flags: FlagSpec[]): string {
  const left = flags.map((f) => {
    const name = `${f.short ? `-${f.short}, ` : "    "}--${f.name}`;
    if (f.kind === "bool") return `${name}[=${f.default ?? "false"}]`;
    return `${name}=${f.kind === "string" ? JSON.stringify(f.default ?? "") : f.default ?? "0"}`;
  });
  const w = Math.max(0, ...left.map((l) => l.length)) + 2;
  return flags.map((f, i) => `  ${left[i]!.padEnd(w)}${f.help}`).join("\n");
}

export function commandHelp(cmd: Command, global: FlagSpec[]): string {
  let s = `NAME:\n\tkvctl ${cmd.path.join(" ")} - ${cmd.summary}\n\nUSAGE:\n\tkvctl ${cmd.usage}\n`;
  if (cmd.flags.length) s += `\nOPTIONS:\n${flagLines(cmd.flags)}\n`;
  s += `\nGLOBAL OPTIONS:\n${flagLines(global)}\n`;
  return s;
}

export function groupHelp(group: string, cmds: Command[], global: FlagSpec[]): string {
  const subs = cmds.filter((c) => c.path[0] === group && c.path.length === 2);
  const w = Math.max(...subs.map((c) => c.path[1]!.length)) + 2;
  const lines = subs.map((c) => `\t${c.path[1]!.padEnd(w)}${c.summary}`).join("\n");
  return `NAME:\n\tkvctl ${group} - the ${group} subcommands\n\nUSAGE:\n\tkvctl ${group} <subcommand> [flags]\n\nCOMMANDS:\n${lines}\n\nGLOBAL OPTIONS:\n${flagLines(global)}\n`;
}

export function topHelp(cmds: Command[], global: FlagSpec[]): string {
  const seen = new Set<string>();
  const rows: [string, string][] = [];
  for (const c of cmds) {
    const name = c.path.join(" ");
    if (seen.has(name)) continue;
    seen.add(name);
    rows.push([name, c.summary]);
  }
  const w = Math.max(...rows.map(([n]) => n.length)) + 2;
  return "NAME:\n\tkvctl - an etcdctl-like client for corekube kv or a real etcd (etcd v3 JSON API)\n\n" +
    "USAGE:\n\tcorekube kvctl [global options] command [command options] [arguments...]\n\n" +
    `COMMANDS:\n${rows.map(([n, s]) => `\t${n.padEnd(w)}${s}`).join("\n")}\n\n` +
    `GLOBAL OPTIONS:\n${flagLines(global)}\n\nRun "corekube kvctl <command> --help" for a command's flags.\n`;
}
