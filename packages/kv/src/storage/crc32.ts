// Book 12.4: the checksum every log record and snapshot carries, so a damaged disk is noticed
// instead of served. CRC-32 (IEEE), table driven; Node 20 has no zlib.crc32 yet.
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of a string's UTF-16 code units, low byte and high byte each (cheap, and exact for
 * both JSON text and latin1 binary strings). */
export function crc32(s: string, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    c = TABLE[(c ^ u) & 0xff]! ^ (c >>> 8);
    if (u > 0xff) c = TABLE[(c ^ (u >>> 8)) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}
