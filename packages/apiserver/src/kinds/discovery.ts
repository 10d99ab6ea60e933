// Book 3.5.2 and 6.3: discovery.k8s.io EndpointSlices — the addresses behind a Service in slices
// of at most 1000 endpoints, which kube-proxy turns into forwarding rules.
import { field, type FieldError } from "@corekube/api";
import type { KubeObject, ResourceDef } from "../registry/types.js";
import { arr, objects, s, setDefault, setDefaultStr } from "./json.js";
import { isDNS1123Label, isDNS1123Subdomain, validateImmutable } from "./meta.js";
import { PROTOCOLS } from "./pod-validation.js";
import { age, ageColumn, col, nameColumn, nameOf } from "./tables.js";
import { isValidIP, isValidPortNum, oneOf, validateQualifiedName } from "./validation.js";

const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];

function defaultEndpointSlice(slice: KubeObject): void {
  for (const [port] of objects(slice.ports)) {
    setDefault(port, "name", "");
    setDefaultStr(port, "protocol", "TCP");
  }
}

function validateAddress(addr: unknown, type: string, p: string): FieldError[] {
  const text = typeof addr === "string" ? addr : "";
  if (type === "IPv4" && !(isValidIP(text) && !text.includes(":"))) return [field.invalid(p, addr ?? "", "must be a valid IPv4 address")];
  if (type === "IPv6" && !(isValidIP(text) && text.includes(":"))) return [field.invalid(p, addr ?? "", "must be a valid IPv6 address")];
  if (type === "FQDN") return isDNS1123Subdomain(text).map((m) => field.invalid(p, addr ?? "", m));
  return [];
}

function validateEndpointSlice(slice: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const type = s(slice.addressType);
  errs.push(...oneOf(slice.addressType, ADDRESS_TYPES, "addressType"));
  const endpoints = objects(slice.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) errs.push(field.tooMany("endpoints", endpoints.length, MAX_ENDPOINTS));
  for (const [ep, i] of endpoints) {
    const p = `endpoints[${i}]`;
    const addresses = arr(ep.addresses);
    if (addresses.length === 0) errs.push(field.required(`${p}.addresses`, "must contain at least 1 address"));
    if (addresses.length > MAX_ADDRESSES) errs.push(field.tooMany(`${p}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((a, j) => errs.push(...validateAddress(a, type, `${p}.addresses[${j}]`)));
    if (s(ep.hostname) !== "") for (const m of isDNS1123Label(s(ep.hostname))) errs.push(field.invalid(`${p}.hostname`, ep.hostname, m));
    if (s(ep.nodeName) !== "") for (const m of isDNS1123Subdomain(s(ep.nodeName))) errs.push(field.invalid(`${p}.nodeName`, ep.nodeName, m));
  }
  const ports = objects(slice.ports);
  if (ports.length > MAX_PORTS) errs.push(field.tooMany("ports", ports.length, MAX_PORTS));
  const names = new Set<string>();
  for (const [port, i] of ports) {
    const p = `ports[${i}]`;
    const name = s(port.name);
    if (name !== "") for (const m of isDNS1123Label(name)) errs.push(field.invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(field.duplicate(`${p}.name`, name));
    names.add(name);
    if (typeof port.port === "number") for (const m of isValidPortNum(port.port)) errs.push(field.invalid(`${p}.port`, port.port, m));
    errs.push(...oneOf(port.protocol, PROTOCOLS, `${p}.protocol`));
    if (typeof port.appProtocol === "string") errs.push(...validateQualifiedName(port.appProtocol, `${p}.appProtocol`));
  }
  return errs;
}

/** "80,443", "<unset>", or the first three and "+ N more...". */
function listWithMore(items: string[]): string {
  const max = 3;
  if (items.length > max) return `${items.slice(0, max).join(",")} + ${items.length - max} more...`;
  return items.length === 0 ? "<unset>" : items.join(",");
}

export const endpointSlices: ResourceDef = {
  group: "discovery.k8s.io",
  version: "v1",
  resource: "endpointslices",
  kind: "EndpointSlice",
  listKind: "EndpointSliceList",
  singular: "endpointslice",
  namespaced: true,
  schemaName: "io.k8s.api.discovery.v1.EndpointSlice",
  strategy: {
    defaults: defaultEndpointSlice,
    validate: validateEndpointSlice,
    validateUpdate: (slice, old) => validateImmutable(slice.addressType, old.addressType, "addressType"),
    allowCreateOnUpdate: false,
  },
  table: {
    columns: [
      nameColumn(),
      col("AddressType", "string", "IPv4, IPv6 or FQDN."),
      col("Ports", "string", "The ports the endpoints serve."),
      col("Endpoints", "string", "The endpoint addresses."),
      ageColumn(),
    ],
    cells(slice, now) {
      const ports = objects(slice.ports).map(([p]) => (typeof p.port === "number" ? String(p.port) : s(p.name) !== "" ? s(p.name) : "*"));
      const addresses = objects(slice.endpoints).flatMap(([ep]) => arr(ep.addresses).map((a) => s(a)));
      return [nameOf(slice), s(slice.addressType), listWithMore(ports), listWithMore(addresses), age(slice, now)];
    },
  },
};
