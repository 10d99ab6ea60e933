// Book 7.2: the hostPath volume's type check: what must already be at the node path (a directory, a
// file, a socket, a device) or what the kubelet creates there first (DirectoryOrCreate, FileOrCreate).
import { type Stats, chmodSync, closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";

function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw e;
  }
}

/**
 * Checks (and for the *OrCreate types, prepares) a hostPath; throws upstream's messages, e.g.
 * "hostPath type check failed: /x is not a directory". Type "" (the default) checks nothing.
 */
export function checkHostPath(path: string, type: string | undefined): void {
  if (!path || !isAbsolute(path)) throw new Error(`hostPath path ${JSON.stringify(path ?? "")} must be an absolute path`);
  const t = type ?? "";
  let st = statOrUndefined(path);
  switch (t) {
    case "":
      return;
    case "DirectoryOrCreate":
      if (!st) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        chmodSync(path, 0o755);
        return;
      }
      break;
    case "FileOrCreate":
      if (!st) {
        try {
          closeSync(openSync(path, "a", 0o644));
        } catch (e) {
          throw new Error(`hostPath type check failed: cannot create file ${path}: ${(e as Error).message}`);
        }
        chmodSync(path, 0o644);
        return;
      }
      break;
    case "Directory":
    case "File":
    case "Socket":
    case "CharDevice":
    case "BlockDevice":
      break;
    default:
      throw new Error(`${JSON.stringify(t)} is an invalid hostPath type (want one of "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice)`);
  }
  st ??= statOrUndefined(path);
  const fail = (what: string) => new Error(`hostPath type check failed: ${path} is not ${what}`);
  switch (t) {
    case "DirectoryOrCreate":
    case "Directory":
      if (!st?.isDirectory()) throw fail("a directory");
      return;
    case "FileOrCreate":
    case "File":
      if (!st?.isFile()) throw fail("a file");
      return;
    case "Socket":
      if (!st?.isSocket()) throw fail("a socket file");
      return;
    case "CharDevice":
      if (!st?.isCharacterDevice()) throw fail("a character device");
      return;
    case "BlockDevice":
      if (!st?.isBlockDevice()) throw fail("a block device");
      return;
  }
}
