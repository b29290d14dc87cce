package notify_test

import (
	"sort"
	"strconv"
)

func strconvFormat(v int64) string { return strconv.FormatInt(v, 10) }

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
