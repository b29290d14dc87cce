package tmpl

import (
	"fmt"
	"strings"
	"time"
)

// Russian names. Months have two forms: genitive after a day number
// ("5 декабря 2026") and nominative standing alone ("декабрь 2026").
var (
	monthsGenitive = [12]string{"января", "февраля", "марта", "апреля", "мая", "июня",
		"июля", "августа", "сентября", "октября", "ноября", "декабря"}
	monthsNominative = [12]string{"январь", "февраль", "март", "апрель", "май", "июнь",
		"июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
	weekdays      = [7]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
	weekdaysShort = [7]string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"}
)

// dateTokens are the layout tokens of date(), longest first so "MMMM" is
// not read as "MM" twice. They follow moment.js, which many users know:
//
//	YYYY 2026   YY 26
//	MMMM декабря after a day (D MMMM), декабрь otherwise   LLLL декабрь always
//	MM 05   M 5   DD 05   D 5
//	dddd пятница   ddd пт
//	HH 09   H 9   mm 05   m 5   ss 07   s 7
//	Z +03:00
//
// Text in [brackets] is written as it is: "D MMMM [в] HH:mm". Any other
// character is written as it is too.
var dateTokens = []string{"YYYY", "MMMM", "LLLL", "dddd", "ddd", "YY", "MM", "DD", "HH", "mm", "ss", "M", "D", "H", "m", "s", "Z"}

// formatDate writes t per a date() layout.
func formatDate(t time.Time, layout string) string {
	var b strings.Builder
	// afterDay is true right after a day token, across spaces and bracketed
	// text: moment.js's rule for the genitive month ("D MMMM").
	afterDay := false
	for i := 0; i < len(layout); {
		if layout[i] == '[' {
			if end := strings.IndexByte(layout[i+1:], ']'); end >= 0 {
				b.WriteString(layout[i+1 : i+1+end])
				i += end + 2
				continue
			}
		}
		tok := ""
		for _, t := range dateTokens {
			if strings.HasPrefix(layout[i:], t) {
				tok = t
				break
			}
		}
		if tok == "" {
			c := layout[i]
			b.WriteByte(c)
			if c != ' ' {
				afterDay = false
			}
			i++
			continue
		}
		i += len(tok)
		switch tok {
		case "YYYY":
			fmt.Fprintf(&b, "%04d", t.Year())
		case "YY":
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case "MMMM":
			if afterDay {
				b.WriteString(monthsGenitive[t.Month()-1])
			} else {
				b.WriteString(monthsNominative[t.Month()-1])
			}
		case "LLLL":
			b.WriteString(monthsNominative[t.Month()-1])
		case "MM":
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case "M":
			fmt.Fprintf(&b, "%d", int(t.Month()))
		case "DD":
			fmt.Fprintf(&b, "%02d", t.Day())
		case "D":
			fmt.Fprintf(&b, "%d", t.Day())
		case "dddd":
			b.WriteString(weekdays[t.Weekday()])
		case "ddd":
			b.WriteString(weekdaysShort[t.Weekday()])
		case "HH":
			fmt.Fprintf(&b, "%02d", t.Hour())
		case "H":
			fmt.Fprintf(&b, "%d", t.Hour())
		case "mm":
			fmt.Fprintf(&b, "%02d", t.Minute())
		case "m":
			fmt.Fprintf(&b, "%d", t.Minute())
		case "ss":
			fmt.Fprintf(&b, "%02d", t.Second())
		case "s":
			fmt.Fprintf(&b, "%d", t.Second())
		case "Z":
			b.WriteString(t.Format("-07:00"))
		}
		afterDay = tok == "D" || tok == "DD"
	}
	return b.String()
}
