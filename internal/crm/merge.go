package crm

import "strings"

// MergeComms adds the phones and e-mails of add that cur lacks (compared
// normalized), as new entries; the others of add are dropped.
func MergeComms(cur *Comms, add Comms) {
	has := func(list []Comm, v string, key func(string) string) bool {
		for _, c := range list {
			if key(c.Value) == key(v) {
				return true
			}
		}
		return false
	}
	emailKey := func(v string) string {
		if n, ok := NormalizeEmail(v); ok {
			return n
		}
		return strings.ToLower(strings.TrimSpace(v))
	}
	for _, c := range add.Phones {
		if !has(cur.Phones, c.Value, PhoneKey) {
			cur.Phones = append(cur.Phones, Comm{Value: c.Value, ValueType: c.ValueType})
		}
	}
	for _, c := range add.Emails {
		if !has(cur.Emails, c.Value, emailKey) {
			cur.Emails = append(cur.Emails, Comm{Value: c.Value, ValueType: c.ValueType})
		}
	}
}
