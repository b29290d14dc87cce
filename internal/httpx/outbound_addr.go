package httpx

import "net/netip"

// An address range the outbound client refuses unless an admin allows it,
// and the reason given in the error.
type refusedRange struct {
	prefix netip.Prefix
	reason string
}

// refusedV4 lists IPv4 ranges that are not the public Internet (RFC 6890
// and its updates). More specific entries come first.
var refusedV4 = []refusedRange{
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified address"},
	// Linux connects to 0.0.0.0 and some of 0/8 as if it were localhost.
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private address"},
	// Also where some clouds keep their metadata (Alibaba 100.100.100.200).
	{netip.MustParsePrefix("100.64.0.0/10"), "CGNAT shared address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback address"},
	{netip.MustParsePrefix("169.254.169.254/32"), "link-local cloud metadata address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation address"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved address"},
}

// refusedV6 lists IPv6 ranges refused outright. The forms that embed an
// IPv4 address (mapped, NAT64, 6to4) are judged by that address instead,
// in refusedReason.
var refusedV6 = []refusedRange{
	{netip.MustParsePrefix("::/128"), "unspecified address"},
	{netip.MustParsePrefix("::1/128"), "loopback address"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 address"},
	// Operators choose where the IPv4 address sits in a local-use NAT64
	// prefix, so it cannot be judged; an admin can allow it.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "discard-only address"},
	{netip.MustParsePrefix("2001::/32"), "Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "private address"},
	{netip.MustParsePrefix("fe80::/10"), "link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "multicast address"},
}

var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

// refusedReason says why ip is not a public Internet address, or returns
// "" if it is one. It knows nothing of what an admin allowed.
func refusedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid address"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if r := refusedReason(ip.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	}
	if ip.Is4() {
		for _, r := range refusedV4 {
			if r.prefix.Contains(ip) {
				return r.reason
			}
		}
		return ""
	}
	b := ip.As16()
	switch {
	case nat64WellKnown.Contains(ip):
		if r := refusedReason(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return "NAT64 " + r
		}
		return ""
	case sixToFour.Contains(ip):
		if r := refusedReason(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return "6to4 " + r
		}
		return ""
	}
	for _, r := range refusedV6 {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	if !globalUnicast6.Contains(ip) {
		return "reserved address"
	}
	return ""
}
