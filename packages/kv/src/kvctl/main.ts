// Book 12.10: `corekube kvctl` — an etcdctl-like CLI over EtcdClient: finds the command in argv,
// parses its flags with the global ones, runs it, and turns every failure into "Error: …" + exit code.
import { parseEndpoints } from "../client/index.js";
import { EtcdError, GrpcCode } from "../types.js";
import { commandWords, type FlagSpec, parseArgs, UsageError } from "./args.js";
import { type Command, Ctx, type Format, type KvctlIo } from "./context.js";
import { endpointCommands } from "./commands/endpoint.js";
import { getCommand } from "./commands/get.js";
import { leaseCommands } from "./commands/lease.js";
import { memberCommands, moveLeader } from "./commands/member.js";
import { compactionCommand } from "./commands/compaction.js";
import { delCommand, putCommand } from "./commands/put.js";
import { watchCommand } from "./commands/watch.js";
import { parseDuration } from "./format.js";
import { commandHelp, groupHelp, topHelp } from "./help.js";

export type { KvctlIo } from "./context.js";

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: "endpoints", kind: "string", default: "http://127.0.0.1:2379", help: "client URLs to talk to, comma-separated (a bare host:port means http)" },
  { name: "write-out", short: "w", kind: "string", default: "simple", help: "output format: simple, json or table" },
  { name: "command-timeout", kind: "string", default: "5s", help: "time limit for each request, not counting the time to connect" },
  { name: "dial-timeout", kind: "string", default: "2s", help: "time limit for connecting to an endpoint" },
  { name: "hex", kind: "bool", help: "show keys and values as \\xNN bytes" },
  { name: "help", short: "h", kind: "bool", help: "show this help" },
];

export const COMMANDS: Command[] = [
  getCommand, putCommand, delCommand, watchCommand, compactionCommand,
  ...leaseCommands, ...memberCommands, moveLeader, ...endpointCommands,
];

const GROUPS = new Set(COMMANDS.filter((c) => c.path.length > 1).map((c) => c.path[0]!));

/** The process's IO: stdout/stderr, stdin when piped, and SIGINT as the end of long commands
 * (a command that does not stop within half a second of it, or a second SIGINT, exits with 130). */
function processIo(): { io: KvctlIo; dispose(): void } {
  const ac = new AbortController();
  const onInt = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    setTimeout(() => process.exit(130), 500).unref();
  };
  process.on("SIGINT", onInt);
  const io: KvctlIo = {
    stdout: (c) => void process.stdout.write(c),
    stderr: (t) => void process.stderr.write(t),
    signal: ac.signal,
    stdin: process.stdin.isTTY ? undefined : async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
  return { io, dispose: () => process.removeListener("SIGINT", onInt) };
}

/** Runs kvctl with `argv` (what follows `corekube kvctl`); resolves to the exit code:
 * 0 success, 1 the server or the connection failed, 2 bad command-line input. */
export async function kvctlMain(argv: string[], io?: KvctlIo): Promise<number> {
  const own = io ? undefined : processIo();
  const theIo = io ?? own!.io;
  try {
    return await dispatch(argv, theIo);
  } catch (e) {
    if (e instanceof UsageError) {
      theIo.stderr(`Error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof EtcdError && e.code === GrpcCode.Canceled && theIo.signal?.aborted) return 0;
    theIo.stderr(`Error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    own?.dispose();
  }
}

function findCommand(argv: string[]): { cmd?: Command; group?: string; words: number[]; unknown?: string } {
  const words = commandWords(argv, GLOBAL_FLAGS, 2);
  if (words.length === 0) return { words };
  const first = argv[words[0]!]!;
  if (GROUPS.has(first)) {
    const second = words[1] === undefined ? undefined : argv[words[1]];
    const cmd = COMMANDS.find((c) => c.path[0] === first && c.path[1] === second);
    if (cmd) return { cmd, words: words.slice(0, 2) };
    return { group: first, words: words.slice(0, 1), unknown: second };
  }
  const cmd = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  return cmd ? { cmd, words: words.slice(0, 1) } : { words: words.slice(0, 1), unknown: first };
}

async function dispatch(argv: string[], io: KvctlIo): Promise<number> {
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  const first = commandWords(argv, GLOBAL_FLAGS, 1)[0];
  if (first !== undefined && argv[first] === "help") return dispatch([...argv.filter((_, i) => i !== first), "--help"], io);
  const found = findCommand(argv);
  if (!found.cmd) {
    if (found.group) {
      if (found.unknown === undefined && wantsHelp) {
        io.stdout(groupHelp(found.group, COMMANDS, GLOBAL_FLAGS));
        return 0;
      }
      const what = found.unknown === undefined ? "missing subcommand" : `unknown subcommand "${found.unknown}"`;
      io.stderr(`Error: ${what} for "${found.group}"\n\n${groupHelp(found.group, COMMANDS, GLOBAL_FLAGS)}`);
      return 2;
    }
    if (found.unknown !== undefined) throw new UsageError(`unknown command "${found.unknown}" for "kvctl"; run "kvctl --help" for the commands`);
    io.stdout(topHelp(COMMANDS, GLOBAL_FLAGS));
    return wantsHelp || argv.length === 0 ? 0 : 2;
  }
  const cmd = found.cmd;
  const rest = argv.filter((_, i) => !found.words.includes(i));
  const { flags, positionals } = parseArgs(rest, [...GLOBAL_FLAGS, ...cmd.flags]);
  if (flags.bool("help")) {
    io.stdout(commandHelp(cmd, GLOBAL_FLAGS));
    return 0;
  }
  const format = flags.str("write-out");
  if (format !== "simple" && format !== "json" && format !== "table") {
    throw new UsageError(`output format "${format}" is not one of simple, json, table`);
  }
  let endpoints: string[];
  try {
    endpoints = parseEndpoints(flags.str("endpoints"));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const ctx = new Ctx(io, flags, endpoints, format as Format,
    parseDuration(flags.str("command-timeout"), "command-timeout"), parseDuration(flags.str("dial-timeout"), "dial-timeout"));
  try {
    return await cmd.run(ctx, positionals);
  } finally {
    await ctx.close();
  }
}
