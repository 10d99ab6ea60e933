// Book 14.2–14.3: authentication and authorization — in one import.
export * from "./authenticator.js";
export * from "./x509.js";
export * from "./tokenfile.js";
export * from "./anonymous.js";
export * from "./authorizer.js";
