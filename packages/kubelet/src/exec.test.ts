// Book 9.2: exec with a terminal, on this host (no container): util-linux `script` gives the command a
// pseudo-terminal whose size follows the client's resize messages, and the command's exit code comes back.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote, type TtyProcess, ttyProcess } from "./exec.js";

const haveScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Collects a tty process's output; `until` waits (without a deadline of its own) for some text. */
function collect(p: TtyProcess) {
  let text = "";
  const waiters: (() => void)[] = [];
  p.stdout.on("data", (b: Buffer) => {
    text += b.toString("utf8");
    for (const w of waiters.splice(0)) w();
  });
  const until = async (want: string): Promise<void> => {
    while (!text.includes(want)) {
      const more = new Promise<void>((r) => waiters.push(r));
      const ended = new Promise<void>((r) => p.stdout.once("end", r));
      await Promise.race([more, ended]);
      if (p.stdout.readableEnded && !text.includes(want)) throw new Error(`output ended without ${JSON.stringify(want)}: ${JSON.stringify(text)}`);
    }
  };
  const done = new Promise<string>((r) => p.stdout.once("end", () => r(text)));
  return { text: () => text, until, done };
}

describe("shellQuote", () => {
  it("passes every word through /bin/sh unchanged", () => {
    const words = ["plain", "with space", "it's", "$HOME", "`id`", "a\nb", "", "'", "\\"];
    const out = execFileSync("sh", ["-c", `for w in ${shellQuote(words)}; do printf '[%s]' "$w"; done`], { encoding: "utf8" });
    expect(out).toBe(words.map((w) => `[${w}]`).join(""));
  });
});

describe.skipIf(!haveScript)("ttyProcess", () => {
  it("runs the command on a terminal of the first resize's size and returns its exit code", async () => {
    const p = ttyProcess(["sh", "-c", "tty; stty size; echo TERM=$TERM; exit 3"], { stdin: false });
    const out = collect(p);
    expect(p.stderr).toBeNull();
    p.start();
    await p.resize(101, 33);
    expect(await p.exit).toBe(3);
    const text = await out.done;
    expect(text).toMatch(/^\/dev\/pts\/\d+\r\n/);
    expect(text).toContain("33 101\r\n");
    expect(text).toContain("TERM=xterm\r\n");
  });

  it("starts without a size when no resize comes after start()", async () => {
    const p = ttyProcess(["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"], { stdin: false, firstResizeWaitMs: 10 });
    const out = collect(p);
    p.start();
    expect(await p.exit).toBe(0);
    expect(await out.done).toBe("on-a-tty\r\n");
  });

  it("applies later resizes to the running command's terminal, with SIGWINCH", async () => {
    const p = ttyProcess(["sh", "-c", "trap 'echo winch' WINCH; stty size; echo ready; read x; stty size; exit 7"], { stdin: true });
    const out = collect(p);
    p.start();
    await p.resize(80, 24);
    await out.until("ready");
    expect(out.text()).toContain("24 80\r\n");
    await p.resize(132, 50);
    await out.until("winch");
    p.stdin!.write("go\n");
    expect(await p.exit).toBe(7);
    expect(await out.done).toContain("50 132\r\n");
  });

  it("feeds stdin to the terminal (echoed, as a terminal does) and ends with the command", async () => {
    const p = ttyProcess(["sh", "-c", "read line; echo got:$line"], { stdin: true });
    const out = collect(p);
    p.start();
    await p.resize(80, 24);
    p.stdin!.end("hello\n");
    expect(await p.exit).toBe(0);
    const text = await out.done;
    expect(text).toContain("hello\r\n");
    expect(text).toContain("got:hello\r\n");
  });

  it("reports a killed command as 137, also when it never started", async () => {
    const never = ttyProcess(["sleep", "60"], { stdin: false });
    never.kill!();
    expect(await never.exit).toBe(137);

    const p = ttyProcess(["sh", "-c", "echo up; exec sleep 60"], { stdin: false });
    const out = collect(p);
    p.start();
    await p.resize(80, 24);
    await out.until("up");
    p.kill!();
    expect(await p.exit).toBe(137);
  });

  it("ignores sizes that are not positive whole numbers", async () => {
    const p = ttyProcess(["sh", "-c", "stty size"], { stdin: false, firstResizeWaitMs: 10 });
    const out = collect(p);
    await p.resize(-1, 20);
    await p.resize(1.5, 20);
    p.start();
    expect(await p.exit).toBe(0);
    expect(await out.done).toBe("0 0\r\n");
  });
});
