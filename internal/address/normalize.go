// Package address keeps Russian addresses from the ФИАС/ГАР database in
// Obmen's own database and suggests them while a user types: region or
// city first, then a street within it, then a house (issue 24, seed 000
// "Интеграция с КЛАДР"). import.go streams the official XML dump in,
// suggest.go answers prefix queries.
package address

import (
	"strings"
	"unicode"
)

// typeAliases maps every spelling of an address object type a user or the
// dump may write (lower case, ё as е, without a trailing dot) to one
// canonical short form, so that "улица", "ул." and "ул" are the same
// filter and "пр-кт" is understood as "проспект".
var typeAliases = map[string]string{}

func init() {
	for canon, spellings := range map[string][]string{
		"ул":     {"улица"},
		"пр-кт":  {"проспект", "просп", "пр-т", "пркт"},
		"пер":    {"переулок"},
		"наб":    {"набережная"},
		"ш":      {"шоссе"},
		"б-р":    {"бульвар", "бул"},
		"пл":     {"площадь"},
		"пр-д":   {"проезд"},
		"туп":    {"тупик"},
		"мкр":    {"микрорайон", "мкрн", "мкр-н"},
		"ал":     {"аллея"},
		"г":      {"город", "гор"},
		"д":      {"деревня", "дер"},
		"с":      {"село"},
		"п":      {"поселок", "пос"},
		"пгт":    {"поселок городского типа"},
		"рп":     {"рабочий поселок", "р п"},
		"ст-ца":  {"станица"},
		"х":      {"хутор"},
		"снт":    {},
		"тер":    {"территория"},
		"обл":    {"область"},
		"р-н":    {"район", "р н"},
		"м р-н":  {"муниципальный район"},
		"г о":    {"городской округ", "г.о"},
		"респ":   {"республика"},
		"край":   {},
		"ао":     {"автономный округ"},
		"аобл":   {"автономная область"},
		"г.ф.з.": {"город федерального значения"},
	} {
		typeAliases[canon] = canon
		for _, s := range spellings {
			typeAliases[s] = canon
		}
	}
}

// suffixTypes are written after the name ("Московская обл", "Зеленодольский
// р-н"), the rest before it ("г Казань", "ул Баумана").
var suffixTypes = map[string]bool{"обл": true, "р-н": true, "м р-н": true, "край": true, "ао": true, "аобл": true}

// fold lower-cases s and writes е for ё.
func fold(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "ё", "е")
}

// TypeKey returns the canonical short form of an object type ("Улица." →
// "ул"), or the folded spelling itself when it is not a known one.
func TypeKey(typeName string) string {
	t := strings.TrimSpace(strings.TrimRight(fold(typeName), ". "))
	if c, ok := typeAliases[t]; ok {
		return c
	}
	return t
}

// words splits s into folded words of letters and digits; every other
// character (punctuation, hyphens, quotes) separates words.
func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// NameKey is the normalized form of a name: folded words joined by one
// space ("Карла Маркса" → "карла маркса", "1-я Тверская-Ямская" → "1 я
// тверская ямская").
func NameKey(name string) string { return strings.Join(words(name), " ") }

// NameKeys are the search keys of a name: the normalized name from each of
// its words on, so that a prefix of any word finds it ("маркс" finds
// "Карла Маркса").
func NameKeys(name string) []string {
	w := words(name)
	out := make([]string, 0, len(w))
	for i := range w {
		out = append(out, strings.Join(w[i:], " "))
	}
	return out
}

// houseWords maps the spellings of a house number's parts to the letters
// its key uses: "корпус 2" and "к2" are both "к2".
var houseWords = map[string]string{
	"корпус": "к", "корп": "к", "к": "к",
	"строение": "с", "стр": "с", "с": "с",
	"сооружение": "соор", "соор": "соор",
	"литера": "лит", "литер": "лит", "лит": "лит",
	"дом": "", "д": "", "здание": "", "зд": "", "владение": "", "влд": "", "домовладение": "", "двлд": "",
}

// HouseKey is the search key of a house number with its additions:
// lower case, the words for корпус/строение/сооружение/литера shortened,
// "дом"/"д" dropped, no spaces or punctuation but "/" ("12/3 корп. 1" →
// "12/3к1").
func HouseKey(s string) string {
	// Joining the words can make a word of the list ("кор п" → "корп"):
	// again until nothing changes, so that a key is its own key (the
	// importer's keys and the query's meet). Each change shortens it.
	k := houseKeyOnce(s)
	for {
		next := houseKeyOnce(k)
		if next == k {
			return k
		}
		k = next
	}
}

func houseKeyOnce(s string) string {
	var b strings.Builder
	for _, f := range strings.FieldsFunc(fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '/'
	}) {
		// "к1" written together: split a leading known word from digits.
		word, rest := f, ""
		if i := strings.IndexFunc(f, unicode.IsDigit); i > 0 {
			word, rest = f[:i], f[i:]
		}
		if short, ok := houseWords[word]; ok {
			b.WriteString(short)
			b.WriteString(rest)
			continue
		}
		b.WriteString(f)
	}
	return b.String()
}

// query is a parsed suggest query.
type query struct {
	key     string // normalized prefix
	typeKey string // canonical type the user named, or ""
}

// parseQuery splits a user's text into the object type it names, if any
// ("ул", "улица", "пр-кт", "город" …, before or after the name), and the
// normalized name prefix. A lone type word is kept as the name: "Шоссе" is
// the start of a name as well as a type.
func parseQuery(q string, house bool) query {
	if house {
		return query{key: HouseKey(q)}
	}
	raw := strings.FieldsFunc(fold(q), func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	var typeKey string
	var rest []string
	for i, t := range raw {
		t = strings.TrimRight(t, ".")
		// Two-word types ("городской округ") are rare in typing; one-word
		// ones are looked up as written, dots and hyphens included.
		if c, ok := typeAliases[t]; ok && typeKey == "" && len(raw) > 1 && (i == 0 || i == len(raw)-1) {
			typeKey = c
			continue
		}
		rest = append(rest, t)
	}
	key := NameKey(strings.Join(rest, " "))
	return query{key: key, typeKey: typeKey}
}

// display joins a type and a name the way addresses are written: the
// type before the name, but after it for regions and districts.
func display(typeName, name string) string {
	switch {
	case typeName == "":
		return name
	case suffixTypes[TypeKey(typeName)]:
		return name + " " + typeName
	}
	return typeName + " " + name
}
