package smtp

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
)

// Address is a mailbox as the seed writes it: "addr" or "addr:Имя".
type Address struct {
	Addr string // ASCII: the domain in punycode
	Name string
}

// String is the address as a header shows it (the name unencoded).
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	return a.Name + " <" + a.Addr + ">"
}

// ParseAddress reads "addr", "addr:Имя" (the seed's form: the name after
// the first colon, which may itself hold colons) or "Имя <addr>". A
// domain in Cyrillic (почта.рф) is turned into punycode; a local part
// outside ASCII is refused, since many servers do not take SMTPUTF8.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, fmt.Errorf("empty address")
	}
	var a Address
	if strings.ContainsAny(s, "<>") {
		p, err := mail.ParseAddress(s)
		if err != nil {
			return Address{}, fmt.Errorf("%q is not an e-mail address", s)
		}
		a = Address{Addr: p.Address, Name: p.Name}
	} else {
		addr, name, _ := strings.Cut(s, ":")
		a = Address{Addr: strings.TrimSpace(addr), Name: strings.TrimSpace(name)}
	}
	a.Name = strings.Join(strings.FieldsFunc(a.Name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	local, domain, ok := strings.Cut(a.Addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return Address{}, fmt.Errorf("%q is not an e-mail address", a.Addr)
	}
	for _, r := range local {
		if r > unicode.MaxASCII {
			return Address{}, fmt.Errorf("%q: the part before @ must be Latin letters, digits and signs", a.Addr)
		}
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(domain, "."))
	if err == nil {
		// A name whose punycode does not read back (the fuzzer found
		// some) is not one a server would take either.
		_, err = idna.Lookup.ToASCII(ascii)
	}
	if err != nil || !strings.Contains(ascii, ".") {
		return Address{}, fmt.Errorf("%q: %q is not a domain", a.Addr, domain)
	}
	a.Addr = local + "@" + strings.ToLower(ascii)
	// What net/mail takes, SMTP takes: it refuses spaces, brackets and
	// the like in the local part.
	if _, err := mail.ParseAddress("<" + a.Addr + ">"); err != nil {
		return Address{}, fmt.Errorf("%q is not an e-mail address", a.Addr)
	}
	return a, nil
}

// splitList splits a single text of addresses at commas, semicolons and
// line breaks. A piece with no "@" continues the name of the piece before
// it ("a@b.ru:Иванов, Иван"), so that a comma inside a name is kept.
func splitList(s string) []string {
	pieces := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	var out []string
	for _, p := range pieces {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if !strings.Contains(p, "@") && len(out) > 0 && strings.Contains(out[len(out)-1], ":") {
			out[len(out)-1] += "," + p
			continue
		}
		out = append(out, p)
	}
	return out
}

// parseRecipients reads each entry; bad ones are returned apart, with the
// reason, for the caller to weigh.
// An address already in seen (given in an earlier list: To before Cc
// before Bcc) is left out.
func parseRecipients(list []string, seen map[string]bool) (good []Address, bad []Rejected) {
	for _, item := range list {
		for _, s := range splitList(item) {
			a, err := ParseAddress(s)
			if err != nil {
				bad = append(bad, Rejected{Address: strings.TrimSpace(s), Error: err.Error()})
				continue
			}
			if seen[strings.ToLower(a.Addr)] {
				continue
			}
			seen[strings.ToLower(a.Addr)] = true
			good = append(good, a)
		}
	}
	return good, bad
}

// Rejected is a recipient that did not get the letter, and why.
type Rejected struct {
	Address string `json:"address"`
	Error   string `json:"error"`
}
