package crm

import (
	"testing"
	"unicode/utf8"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"8 (925) 642-42-90", "+79256424290", true},
		{"+7 925 642 42 90", "+79256424290", true},
		{"79256424290", "+79256424290", true},
		{"9256424290", "+79256424290", true},
		{"8-800-555-35-35", "+78005553535", true},
		{"+7 (495) 123-45-67", "+74951234567", true},
		{"8 (495) 123.45.67", "+74951234567", true},
		{"+375 29 123-45-67", "+375291234567", true},      // Belarus, through libphonenumber
		{"+1 (650) 253-0000", "+16502530000", true},       // USA
		{"+44 20 7946 0958", "+442079460958", true},       // UK
		{"8 925 642 42 90 доб. 12", "+79256424290", true}, // extension: libphonenumber drops it
		{"12", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizePhone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// The fast path must agree with libphonenumber wherever it applies.
func FuzzFastRussianAgrees(f *testing.F) {
	for _, s := range []string{"8 (925) 642-42-90", "+79256424290", "9001234567", "8-800-555-35-35", "7 (3412) 12-34-56"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, ok := fastRussian(s, onlyDigits(s)); !ok {
			return
		}
		// What callers get must not depend on the path taken: the bounds
		// at the top of NormalizePhone (libphonenumber's 250-byte input
		// limit) apply to both.
		fast, fastOK := NormalizePhone(s)
		saved := fastPathEnabled
		fastPathEnabled = false
		slow, slowOK := NormalizePhone(s)
		fastPathEnabled = saved
		if fast != slow || fastOK != slowOK {
			t.Fatalf("%q: fast path %q (ok %v), libphonenumber %q (ok %v)", s, fast, fastOK, slow, slowOK)
		}
	})
}

func TestValidINN(t *testing.T) {
	for _, tt := range []struct {
		inn string
		ok  bool
	}{
		{"7707083893", true},    // Sberbank
		{"7707083894", false},   // wrong check digit
		{"500100732259", true},  // a person's INN
		{"500100732258", false}, // wrong check digit
		{"77070838", false},
		{"770708389x", false},
	} {
		if err := ValidINN(tt.inn); (err == nil) != tt.ok {
			t.Errorf("ValidINN(%q) = %v, want ok=%v", tt.inn, err, tt.ok)
		}
	}
}

func TestDecimalParsing(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Amount
		bad  bool
	}{
		{"100.5", 10050, false}, {"0.01", 1, false}, {"-3", -300, false}, {"1 234,56", 123456, false},
		{"1.005", 0, true}, {"1e3", 0, true}, {"", 0, true}, {".", 0, true}, {"9999999999999999999", 0, true},
	} {
		got, err := ParseAmount(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseAmount(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestLineItemTotals(t *testing.T) {
	vat := Amount(2000)
	items := []LineItem{
		{Name: "Баннер", Price: 150050, Quantity: 2500, VATRate: &vat, VATIncluded: true},  // 3751.25 incl. 625.21 VAT
		{Name: "Монтаж", Price: 100000, Quantity: 1000, DiscountRate: 1000, VATRate: &vat}, // 1000 -10% = 900 + 180 VAT
		{Name: "Доставка", Price: 33333, Quantity: 3000},                                   // 999.99
	}
	tot, err := ComputeItems("items", items)
	if err != nil {
		t.Fatal(err)
	}
	want := Totals{Subtotal: 375125 + 100000 + 99999, Discount: 10000, Tax: 62521 + 18000, Total: 375125 + 108000 + 99999}
	if tot != want {
		t.Fatalf("totals %+v, want %+v", tot, want)
	}
	if _, err := ComputeItems("items", []LineItem{{Name: "x", Price: 1, Quantity: 0}}); err == nil {
		t.Fatal("zero quantity accepted")
	} else if fe, _ := AsFieldError(err); fe == nil || fe.Field != "items[0].quantity" {
		t.Fatalf("error %v", err)
	}
}

func TestClipText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"короткий", 100, "короткий"},
		{"абвгд", 8, "аб…"},  // 10 bytes: "аб" (4) + "…" (3) fits 8; "абв" would not
		{"абвгд", 9, "абв…"}, // 6 + 3
		{"abcdef", 5, "ab…"},
	} {
		got := ClipText(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("ClipText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestClipRunes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"короткий", 8, "короткий"},
		{"абвгд", 3, "абв"}, // characters, not bytes
		{"", 3, ""},
		{"ab", 0, ""},
	} {
		if got := ClipRunes(c.in, c.n); got != c.want {
			t.Errorf("ClipRunes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestFirstText(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"", "  ", "\t"}, ""}, {[]string{"  ", " ООО Ромашка ", "x"}, "ООО Ромашка"}, {[]string{"a", "b"}, "a"}} {
		if got := FirstText(tc.in...); got != tc.want {
			t.Errorf("FirstText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
