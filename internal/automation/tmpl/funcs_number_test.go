package tmpl

import (
	"strings"
	"testing"
)

const nbsp = "\u00a0"

func TestNum(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ num(trigger.record.amount) }}", want: 1500.5},
		{src: "{{ num('1 500,50') }}", want: 1500.5},
		{src: "{{ num('1" + nbsp + "500') }}", want: int64(1500)},
		{src: "{{ num('1,234.56') }}", want: 1234.56},
		{src: "{{ num('1.234,56') }}", want: 1234.56},
		{src: "{{ num('1.234.567') }}", want: int64(1234567)},
		{src: "{{ num('1,5') }}", want: 1.5},
		{src: "{{ num('-3') }}", want: int64(-3)},
		{src: "{{ num('+3.0') }}", want: int64(3)},
		{src: "{{ num(' 007 ') }}", want: int64(7)},
		{src: "{{ num(99.9) }}", want: 99.9},
		{src: "{{ num(5) }}", want: int64(5)},
		{src: "{{ num(nil) }}", want: nil},
		{src: "{{ num('  ') }}", want: nil},
		{src: "{{ num(trigger.record.amount) * 2 }}", want: int64(3001)},
		{src: "{{ default(num(trigger.record.missing), 0) + 1 }}", want: int64(1)},
		{src: "{{ num('abc') }}", err: `num: "abc" is not a number`},
		{src: "{{ num('05.12.2026') }}", err: "is not a number"},
		{src: "{{ num('8 912 345 67 89') }}", err: "is not a number"},
		{src: "{{ num('1e5') }}", err: "is not a number"},
		{src: "{{ num('NaN') }}", err: "is not a number"},
		{src: "{{ num('1,2,3.4,5') }}", err: "is not a number"},
		{src: "{{ num(true) }}", err: "num: true is not a number"},
		{src: "{{ num([1]) }}", err: "num: [1] is not a number"},
		{src: "{{ num() }}", err: "num: expected 1 argument, got 0"},
	})
}

func TestNumber(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ number(1234567.5) }}", want: "1" + nbsp + "234" + nbsp + "567,5"},
		{src: "{{ number(1500) }}", want: "1" + nbsp + "500"},
		{src: "{{ number(999) }}", want: "999"},
		{src: "{{ number(-1234.5) }}", want: "-1" + nbsp + "234,5"},
		{src: "{{ number(1500, 2) }}", want: "1" + nbsp + "500,00"},
		{src: "{{ number(2.675, 2) }}", want: "2,68"},
		{src: "{{ number(-0.001, 2) }}", want: "0,00"},
		{src: "{{ number(9.999, 2) }}", want: "10,00"},
		{src: "{{ number(0.1 + 0.2) }}", want: "0,3"},
		{src: "{{ number('1 500,5', 1) }}", want: "1" + nbsp + "500,5"},
		{src: "{{ number(trigger.record.big) }}", want: "12" + nbsp + "345" + nbsp + "678" + nbsp + "901" + nbsp + "234"},
		{src: "{{ number(1.5, 0) }}", want: "2"},
		{src: "{{ number(nil) }}", want: ""},
		{src: "{{ number('') }}", want: ""},
		{src: "{{ number('abc') }}", err: `number: "abc" is not a number`},
		{src: "{{ number(1, -1) }}", err: "number: decimals must be from 0 to 12, got -1"},
		{src: "{{ number(1, 1.5) }}", err: "number: decimals must be a whole number, got 1.5"},
		{src: "{{ number(10 ** 400) }}", err: "number: not a finite number"},
	})
}

func TestMoney(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ money(trigger.record.amount) }}", want: "1" + nbsp + "500,50" + nbsp + "₽"},
		{src: "{{ money(1500) }}", want: "1" + nbsp + "500,00" + nbsp + "₽"},
		{src: "{{ money(99.999, 'rub') }}", want: "100,00" + nbsp + "₽"},
		{src: "{{ money(20, 'USD') }}", want: "20,00" + nbsp + "$"},
		{src: "{{ money(20, 'EUR') }}", want: "20,00" + nbsp + "€"},
		{src: "{{ money(20, 'KZT') }}", want: "20,00" + nbsp + "KZT"},
		{src: "{{ money(20, nil) }}", want: "20,00" + nbsp + "₽"},
		{src: "{{ money(nil) }}", want: ""},
		{src: "{{ money('много') }}", err: `money: "много" is not a number`},
		{src: "{{ money(1, [1]) }}", err: "money: expected text, got list"},
		{src: "{{ money(1, 'RUB', 2) }}", err: "money: expected 1 to 2 arguments, got 3"},
	})
}

func TestRound(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ round(2.5) }}", want: int64(3)},
		{src: "{{ round(-2.5) }}", want: int64(-3)},
		{src: "{{ round(2.675, 2) }}", want: 2.68},
		{src: "{{ round('1 500,555', 2) }}", want: 1500.56},
		{src: "{{ round(7) }}", want: int64(7)},
		{src: "{{ round(nil) }}", want: nil},
		{src: "{{ round('x') }}", err: `round: "x" is not a number`},
		{src: "{{ round(1, 13) }}", err: "round: decimals must be from 0 to 12, got 13"},
	})
}

func TestArithmetic(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ trigger.record.id + 1 }}", want: int64(6)},
		{src: "{{ trigger.record.price * 2 }}", want: 199.8},
		{src: "{{ trigger.record.id - 10 }}", want: int64(-5)},
		{src: "{{ trigger.record.id % 3 }}", want: int64(2)},
		{src: "{{ 7 / 2 }}", want: 3.5},
		{src: "{{ 'a' + 'б' }}", want: "aб"},
		{src: "{{ num(trigger.record.amount) + trigger.record.price }}", want: 1600.4},
		{src: "{{ trigger.record.amount * 2 }}", err: "invalid operation"},
		{src: "{{ trigger.record.amount + 1 }}", err: "cannot compute text + number"},
		{src: "{{ 1 / 0.0 }}", err: "division by zero"},
		{src: "{{ 1.5 % 1 }}", err: "cannot compute number % number"},
		{src: "{{ now() - add_days(now(), -1) }}", want: int64(86400)},
		{src: "{{ (now() - add_hours(now(), -1.5)) / 60 }}", want: int64(90)},
		{src: "{{ floor((now() - add_days(trigger.record.created, 0)) / 86400) }}", want: int64(0)},
		{src: "{{ now() - 1 }}", err: "cannot compute"},
	})
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want any // int64, float64 or nil for "not a number"
	}{
		{"0", int64(0)}, {"-0", int64(0)}, {"12", int64(12)}, {"1 234", int64(1234)}, {"1\u202f234", int64(1234)},
		{"12 34", nil}, {"1 2345", nil}, {"1234 567", nil}, {"1,234,567", int64(1234567)},
		{"1,50", 1.5}, {"0.25", 0.25}, {"-1 234,5", -1234.5}, {"1.234.567,89", 1234567.89},
		{"1,234.5.6", nil}, {".5", nil}, {"5.", nil}, {"-", nil}, {"", nil}, {"1-2", nil}, {"0x10", nil},
		{"99999999999999999999", 1e20}, {"9223372036854775807", int64(9223372036854775807)},
		{"1" + strings.Repeat("0", 400), nil}, // beyond float64: not a number, not +Inf
		{"0," + strings.Repeat("0", 400) + "1", int64(0)},
	}
	for _, c := range cases {
		n, ok := parseNumber(c.in)
		var got any
		if ok {
			got = n.value()
		}
		if got != c.want {
			t.Errorf("parseNumber(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}
