// The first packet of a secrets file tells its mode, read without loading OpenPGP:
// `odp check` decides from it whether a passphrase or a private key is needed at all.
/** True when the file starts with a PKESK packet (binary): a recipients file worth the fast path. */
export function startsWithPkesk(data: Uint8Array): boolean {
  const h = data[0];
  if (h === undefined || (h & 0x80) === 0) return false;
  return (h & 0x40 ? h & 0x3f : (h >> 2) & 0x0f) === 1;
}
