// Book 9.3: unit tests for the pod snapshot helpers: which old container attempts the kubelet removes.
import { describe, expect, it } from "vitest";
import { attemptsToRemove, type ContainerAttempt, type PodSnapshot } from "./snapshot.js";

const attempt = (name: string, n: number, state: ContainerAttempt["state"]): ContainerAttempt => ({ id: `${name}-${n}`, name, attempt: n, state, hash: "h", image: "busybox" });

describe("attemptsToRemove", () => {
  it("keeps the newest two attempts of each container and removes older exited ones", () => {
    const snap: PodSnapshot = {
      sandboxes: [],
      containers: [attempt("app", 0, "exited"), attempt("app", 3, "running"), attempt("app", 1, "exited"), attempt("app", 2, "exited"), attempt("side", 0, "exited"), attempt("side", 1, "exited")],
    };
    expect(attemptsToRemove(snap).map((c) => c.id).sort()).toEqual(["app-0", "app-1"]);
  });

  it("never removes a running attempt, however old", () => {
    const snap: PodSnapshot = { sandboxes: [], containers: [attempt("app", 0, "running"), attempt("app", 1, "exited"), attempt("app", 2, "exited")] };
    expect(attemptsToRemove(snap)).toEqual([]);
  });
});
