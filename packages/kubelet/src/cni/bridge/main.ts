// Book 5.3: the corekube-bridge executable: read CNI_* from the environment and the config from stdin,
// run ADD/DEL/CHECK/VERSION, print the result (or the CNI error object) on stdout, exit 0 or 1.
import { CniError, CniErrorCode, type Result } from "../spec.js";
import { cmdAdd, cmdCheck, cmdDel, cmdVersion, type PluginEnv, parseBridgeConfig } from "./plugin.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function envOf(command: string): PluginEnv {
  const e = process.env;
  const need = (k: string): string => {
    const v = e[k];
    if (!v) throw new CniError(CniErrorCode.InvalidEnvironment, `${k} is not set`);
    return v;
  };
  const containerId = need("CNI_CONTAINERID");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_CONTAINERID "${containerId}" has invalid characters`);
  }
  const ifName = need("CNI_IFNAME");
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName)) throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_IFNAME "${ifName}" is invalid`);
  // DEL may come after the netns is gone; ADD and CHECK need it.
  const netns = command === "DEL" ? (e.CNI_NETNS ?? "") : need("CNI_NETNS");
  return { command, containerId, netns, ifName };
}

export async function main(): Promise<number> {
  const command = process.env.CNI_COMMAND ?? "";
  try {
    if (command === "VERSION") {
      process.stdout.write(JSON.stringify(cmdVersion()));
      return 0;
    }
    if (!["ADD", "DEL", "CHECK"].includes(command)) {
      throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_COMMAND "${command}" is not one of ADD, DEL, CHECK, VERSION`);
    }
    const text = await readStdin();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new CniError(CniErrorCode.DecodeFailure, `config on stdin is not valid JSON: ${(e as Error).message}`);
    }
    const config = parseBridgeConfig(raw);
    const env = envOf(command);
    if (command === "ADD") process.stdout.write(JSON.stringify(await cmdAdd(config, env)));
    else if (command === "DEL") await cmdDel(config, env);
    else await cmdCheck(config, env, (raw as { prevResult?: Result }).prevResult);
    return 0;
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(CniErrorCode.IoFailure, (e as Error).message ?? String(e));
    process.stdout.write(JSON.stringify(err.toJSON()));
    return 1;
  }
}

process.exitCode = await main();
