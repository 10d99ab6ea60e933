// Book 8.2: reading /proc/self/mountinfo to find what is mounted under a pod's volumes.
import { describe, expect, it } from "vitest";
import { mountsUnder, parseMountInfo } from "./mounter.js";

const SAMPLE = [
  "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "40 22 0:39 / /var/lib/k/pods/u1/volumes/kubernetes.io~secret/a\\040b rw,relatime shared:20 - tmpfs tmpfs rw,size=8192k",
  "41 22 0:40 / /var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m rw - tmpfs tmpfs rw,size=1024k",
  "42 41 0:41 / /var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m/inner rw - tmpfs tmpfs rw",
  "43 22 0:42 / /var/lib/k/pods/u10/volumes/x rw - tmpfs tmpfs rw",
  "garbage line",
].join("\n");

describe("mountinfo", () => {
  it("parses mount points with escapes, filesystem types and options", () => {
    const m = parseMountInfo(SAMPLE);
    expect(m).toHaveLength(5);
    expect(m[1]).toEqual({ mountPoint: "/var/lib/k/pods/u1/volumes/kubernetes.io~secret/a b", fsType: "tmpfs", source: "tmpfs", superOptions: "rw,size=8192k" });
  });

  it("lists mounts under a directory deepest first, not a sibling with the same prefix", () => {
    const under = mountsUnder(parseMountInfo(SAMPLE), "/var/lib/k/pods/u1/volumes").map((m) => m.mountPoint);
    expect([...under].sort()).toEqual([
      "/var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m",
      "/var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m/inner",
      "/var/lib/k/pods/u1/volumes/kubernetes.io~secret/a b",
    ]);
    // A mount on top of another is unmounted first.
    expect(under.indexOf("/var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m/inner")).toBeLessThan(
      under.indexOf("/var/lib/k/pods/u1/volumes/kubernetes.io~empty-dir/m"),
    );
  });
});
