package invoice

import (
	"strings"
)

// Russian number names. Thousands are feminine (одна тысяча, две
// тысячи); units, millions and above masculine.
var (
	onesMasc = []string{"", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"}
	onesFem  = []string{"", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"}
	teens    = []string{"десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
		"шестнадцать", "семнадцать", "восемнадцать", "девятнадцать"}
	tens     = []string{"", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"}
	hundreds = []string{"", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"}
)

// scale is a power of a thousand with its three forms (for 1, for 2–4,
// for 5–20) and its gender.
type scale struct {
	forms    [3]string
	feminine bool
}

// scales from 10^3 up; int64 reaches a few quintillions.
var scales = []scale{
	{[3]string{"тысяча", "тысячи", "тысяч"}, true},
	{[3]string{"миллион", "миллиона", "миллионов"}, false},
	{[3]string{"миллиард", "миллиарда", "миллиардов"}, false},
	{[3]string{"триллион", "триллиона", "триллионов"}, false},
	{[3]string{"квадриллион", "квадриллиона", "квадриллионов"}, false},
	{[3]string{"квинтиллион", "квинтиллиона", "квинтиллионов"}, false},
}

// Plural picks the Russian form of a noun for n: forms are for 1 (рубль),
// for 2–4 (рубля) and for the rest (рублей); 11–14 take the last.
func Plural(n uint64, forms [3]string) string {
	if n%100 >= 11 && n%100 <= 14 {
		return forms[2]
	}
	switch n % 10 {
	case 1:
		return forms[0]
	case 2, 3, 4:
		return forms[1]
	}
	return forms[2]
}

// triad writes 1–999 in words.
func triad(n uint64, feminine bool) []string {
	var w []string
	if h := n / 100; h > 0 {
		w = append(w, hundreds[h])
	}
	rest := n % 100
	switch {
	case rest >= 10 && rest < 20:
		w = append(w, teens[rest-10])
	default:
		if t := rest / 10; t > 0 {
			w = append(w, tens[t])
		}
		if o := rest % 10; o > 0 {
			if feminine {
				w = append(w, onesFem[o])
			} else {
				w = append(w, onesMasc[o])
			}
		}
	}
	return w
}

// Words writes n in Russian words, lower case: 0 is "ноль", 21000 is
// "двадцать одна тысяча". feminine is the gender of the noun that will
// follow (копейка: одна, две).
func Words(n uint64, feminine bool) string {
	if n == 0 {
		return "ноль"
	}
	var groups []uint64
	for v := n; v > 0; v /= 1000 {
		groups = append(groups, v%1000)
	}
	var w []string
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			continue
		}
		if i == 0 {
			w = append(w, triad(g, feminine)...)
			continue
		}
		sc := scales[i-1]
		w = append(w, triad(g, sc.feminine)...)
		w = append(w, Plural(g, sc.forms))
	}
	return strings.Join(w, " ")
}

var (
	rubles  = [3]string{"рубль", "рубля", "рублей"}
	kopecks = [3]string{"копейка", "копейки", "копеек"}
)

// AmountInWords writes a sum in kopecks as a Russian invoice does: the
// rubles in words with a capital letter, the kopecks in two digits —
// 12000 is "Сто двадцать рублей 00 копеек", 2101 "Двадцать один рубль
// 01 копейка". A negative sum is prefixed with "минус".
func AmountInWords(kop int64) string {
	neg := kop < 0
	u := uint64(kop)
	if neg {
		u = uint64(-(kop + 1)) + 1 // math.MinInt64 too
	}
	rub, k := u/100, u%100
	s := Words(rub, false) + " " + Plural(rub, rubles) + " " + twoDigits(k) + " " + Plural(k, kopecks)
	if neg {
		s = "минус " + s
	}
	return capitalize(s)
}

func twoDigits(n uint64) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
