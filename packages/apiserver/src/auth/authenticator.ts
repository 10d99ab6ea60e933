// Book 14.2–14.3: authentication — who is calling? Each authenticator looks for one kind of
// credential; a union tries them in turn, and every user it finds joins system:authenticated.
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../registry/types.js";

export const AUTHENTICATED_GROUP = "system:authenticated";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const ANONYMOUS_USERNAME = "system:anonymous";

/** Credentials were presented but are not valid: the request must fail with 401, never fall back to anonymous. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthenticationError";
  }
}

export interface Authenticator {
  /**
   * The user behind the request; undefined when this authenticator found no credentials of its
   * kind. Throws AuthenticationError when credentials of its kind are present but invalid.
   */
  authenticate(req: IncomingMessage): Promise<UserInfo | undefined>;
}

/** The user an unauthenticated request runs as, where anonymous access is allowed. */
export function anonymousUser(): UserInfo {
  return { username: ANONYMOUS_USERNAME, groups: [UNAUTHENTICATED_GROUP] };
}

/** A copy of `user` that is also in system:authenticated (once). */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const groups = user.groups.includes(AUTHENTICATED_GROUP) ? [...user.groups] : [...user.groups, AUTHENTICATED_GROUP];
  const out: UserInfo = { username: user.username, groups };
  if (user.uid !== undefined) out.uid = user.uid;
  if (user.extra !== undefined) out.extra = user.extra;
  return out;
}

/**
 * Tries each authenticator in order; the first user found wins and gets system:authenticated.
 * When none finds a user and any of them rejected bad credentials, the request is rejected (a bad
 * token next to a valid client certificate still authenticates, as in kube-apiserver).
 */
export function unionAuthenticator(...authenticators: Authenticator[]): Authenticator {
  return {
    async authenticate(req) {
      const errors: string[] = [];
      for (const a of authenticators) {
        let user: UserInfo | undefined;
        try {
          user = await a.authenticate(req);
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
          continue;
        }
        if (user !== undefined) return withAuthenticatedGroup(user);
      }
      if (errors.length === 1) throw new AuthenticationError(errors[0]!);
      if (errors.length > 1) throw new AuthenticationError(`[${errors.join(", ")}]`);
      return undefined;
    },
  };
}
