// Book 14.1–14.2: client-certificate authentication — the TLS handshake already checked the chain
// against the client CA; the certificate's CN is the user name and each O is a group.
import type { IncomingMessage } from "node:http";
import type { PeerCertificate, TLSSocket } from "node:tls";
import type { UserInfo } from "../registry/types.js";
import { AuthenticationError, type Authenticator } from "./authenticator.js";

const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
const ANY_EKU_OID = "2.5.29.37.0";

function isTlsSocket(socket: unknown): socket is TLSSocket {
  return typeof socket === "object" && socket !== null && typeof (socket as TLSSocket).getPeerCertificate === "function";
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The user a verified certificate names: CN → username, O → groups (empty CN: no user). */
export function userFromCertificate(cert: PeerCertificate): UserInfo | undefined {
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined> | undefined;
  const username = values(subject?.CN)[0] ?? "";
  if (username === "") return undefined;
  return { username, groups: values(subject?.O) };
}

/**
 * Reads the client certificate of a TLS connection. The TLS server must ask for one without
 * insisting (`requestCert: true, rejectUnauthorized: false, ca: clientCA`), so that requests
 * without a certificate still reach token or anonymous authentication.
 */
export function clientCertAuthenticator(): Authenticator {
  // A connection's certificate never changes, so each socket is read once (reading the peer
  // certificate out of OpenSSL costs more than the rest of a small request).
  const seen = new WeakMap<TLSSocket, { user?: UserInfo; error?: string }>();
  return {
    async authenticate(req: IncomingMessage) {
      const socket = req.socket;
      if (!isTlsSocket(socket)) return undefined;
      let r = seen.get(socket);
      if (!r) {
        try {
          r = { user: fromSocket(socket) };
        } catch (e) {
          r = { error: (e as Error).message };
        }
        seen.set(socket, r);
      }
      if (r.error !== undefined) throw new AuthenticationError(r.error);
      return r.user;
    },
  };
}

/** The user of a TLS connection's verified client certificate (undefined: none presented). */
function fromSocket(socket: TLSSocket): UserInfo | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) {
    const why = socket.authorizationError instanceof Error ? socket.authorizationError.message : String(socket.authorizationError ?? "unknown reason");
    throw new AuthenticationError(`verifying client certificate failed: ${why}`);
  }
  const ekus = cert.ext_key_usage;
  if (ekus && ekus.length > 0 && !ekus.includes(CLIENT_AUTH_OID) && !ekus.includes(ANY_EKU_OID)) {
    throw new AuthenticationError("verifying client certificate failed: it is not valid for client authentication");
  }
  return userFromCertificate(cert);
}
