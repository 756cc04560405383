package catalog

import (
	"net/netip"
	"net/url"
	"strings"
)

// Address ranges a production URL may not point into unless the settings
// allow private URLs: the marketplace calls production URLs from inside its
// own network, so an address there would let a seller reach the
// marketplace's own services (SSRF). netip's predicates cover loopback,
// private (RFC 1918, fc00::/7), link-local and multicast; these are the rest.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
}

// CheckProductionURL reports whether raw may be a product's production URL:
// an absolute https URL (or, with allowPrivate, http to a loopback host)
// with a host, no user name or password, and — unless allowPrivate
// (development, tests) — a host that is neither a loopback,
// private, link-local or otherwise non-public IP literal nor "localhost" or
// a name under .localhost. Returns EINVALID naming the field otherwise.
//
// Names other than localhost are not resolved: what a name points to can
// change after review, so the check that matters for names belongs where
// the connection is made; this one refuses what is wrong on its face.
func CheckProductionURL(raw string, allowPrivate bool) error {
	const field = "productionUrl"
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return invalid(field, "%q is not an absolute URL.", raw)
	}
	if u.User != nil {
		return invalid(field, "must not contain a user name or password.")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return invalid(field, "%q has no host.", raw)
	}
	// Plain HTTP only to this machine, and only where private URLs are
	// allowed: a development marketplace calling a seller it runs itself
	// (protocol.md §1).
	if u.Scheme != "https" && !(allowPrivate && u.Scheme == "http" && loopbackHost(host)) {
		return invalid(field, "must use https, not %s.", u.Scheme)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if !allowPrivate && !publicAddr(addr) {
			return invalid(field, "host %s is a private, loopback or link-local address; the marketplace calls only public addresses.", host)
		}
		return nil
	}
	labels := strings.Split(host, ".")
	if last := labels[len(labels)-1]; last == "" || strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		// 127.1, 0177.0.0.1, 2130706433, 0x7f.1: some resolvers read these
		// as addresses; no real top-level domain is numeric.
		return invalid(field, "host %q is neither a host name nor an IP address.", host)
	}
	if !allowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return invalid(field, "host %s is local; the marketplace calls only public hosts.", host)
	}
	return nil
}

// publicAddr reports whether addr is a public unicast address.
func publicAddr(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("") // ::ffff:127.0.0.1 is 127.0.0.1
	if !addr.IsGlobalUnicast() || addr.IsPrivate() || addr.IsLoopback() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// loopbackHost reports whether host is this machine: localhost, a name
// under .localhost, or a loopback address.
func loopbackHost(host string) bool {
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().IsLoopback()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
