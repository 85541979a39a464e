import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a reference or a callback may reach unless its host is explicitly allowed (SSRF
 * protection): public unicast only. The ranges follow the IANA special-purpose address registries
 * (RFC 6890 and successors): every range that is not globally reachable is refused, and so is
 * every IPv6 form that carries an IPv4 address (IPv4-mapped, NAT64, 6to4) when that IPv4 address
 * would be refused. Addresses are parsed and matched by Node's BlockList; nothing here parses one.
 */

/** [network, prefix length, what it is]: IPv4 ranges that are not public. */
export const NON_PUBLIC_IPV4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata services)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation (TEST-NET-1)'],
  ['192.88.99.0', 24, '6to4 relay anycast (deprecated)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, 'documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved, and the limited broadcast address'],
];

/**
 * IPv6 outside these prefixes is not public unicast (loopback, unspecified, IPv4-compatible,
 * link-local, site-local, unique-local, multicast, discard-only, local-use NAT64 64:ff9b:1::/48,
 * SRv6 SIDs …) and is refused. IPv4-mapped and well-known-prefix NAT64 addresses reach the IPv4
 * address they carry, which is then checked.
 */
const ROUTABLE_IPV6: ReadonlyArray<readonly [string, number]> = [
  ['2000::', 3], // global unicast
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64 well-known prefix (RFC 6052)
];

/** Ranges inside 2000::/3 that are not public. */
export const NON_PUBLIC_IPV6: ReadonlyArray<readonly [string, number, string]> = [
  ['2001::', 23, 'IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
];

/** IPv6 prefixes that embed an IPv4 address right after them: [the IPv6 form of an IPv4 range, its length]. */
const EMBEDDINGS: ReadonlyArray<(hi: string, lo: string, prefix: number) => readonly [string, number]> = [
  (hi, lo, prefix) => [`64:ff9b::${hi}:${lo}`, 96 + prefix], // NAT64 (RFC 6052, /96)
  (hi, lo, prefix) => [`2002:${hi}:${lo}::`, 16 + prefix], // 6to4 (RFC 3056)
];

/** The two 16-bit groups of an IPv4 address, in hex, as IPv6 writes them. */
function groups(ipv4: string): [string, string] {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

const routable = new BlockList();
for (const [net, prefix] of ROUTABLE_IPV6) routable.addSubnet(net, prefix, 'ipv6');

/** Non-public addresses; its IPv4 rules also match IPv4-mapped IPv6 addresses (BlockList does that). */
const nonPublic = new BlockList();
for (const [net, prefix] of NON_PUBLIC_IPV4) {
  nonPublic.addSubnet(net, prefix, 'ipv4');
  const [hi, lo] = groups(net);
  for (const embed of EMBEDDINGS) nonPublic.addSubnet(...embed(hi, lo, prefix), 'ipv6');
}
for (const [net, prefix] of NON_PUBLIC_IPV6) nonPublic.addSubnet(net, prefix, 'ipv6');

/**
 * True unless `address` is a public unicast IPv4 or IPv6 address; anything that is not an address
 * at all is "private" too. A zone index (`fe80::1%eth0`) is ignored.
 */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return nonPublic.check(bare, 'ipv4');
  if (family === 6) return !routable.check(bare, 'ipv6') || nonPublic.check(bare, 'ipv6');
  return true;
}
