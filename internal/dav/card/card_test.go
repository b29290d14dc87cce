package card

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/obmen/obmen/internal/crm"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden reads real-shaped cards (Thunderbird's 3.0, iOS's 4.0) into a
// contact, renders the contact over the stored card, and compares the
// result with the golden file; then renders again from the result and
// gets the same bytes (a stable round trip).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		org  string
		want crm.Contact
	}{
		{"thunderbird-3.0.vcf", "ООО Ромашка", crm.Contact{Name: "Иван", SecondName: "Сергеевич", LastName: "Петров", Position: "Директор по закупкам",
			Birthdate: "1980-05-17", Comments: "Звонить после 10:00\nпо будням",
			Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7 495 123-45-67", ValueType: "WORK"}, {Value: "+7 (916) 555-12-34", ValueType: "MOBILE"}},
				Emails: []crm.Comm{{Value: "ivan.petrov@romashka.ru", ValueType: "WORK"}, {Value: "ivan@example.org", ValueType: "HOME"}},
				Webs:   []crm.Comm{{Value: "https://romashka.ru", ValueType: "WORK"}}},
			Address: crm.Address{Street: "ул. Ленина", House: "д. 5", City: "Москва", Region: "Московская область", Postcode: "101000", Country: "Россия"}}},
		{"apple-4.0.vcf", "", crm.Contact{Name: "Анна", LastName: "Смирнова",
			Comms: crm.Comms{
				Phones: []crm.Comm{{Value: "+7-903-111-22-33", ValueType: "MOBILE"}, {Value: "+7 812 000 11 22", ValueType: "FAX"}},
				Emails: []crm.Comm{{Value: "anna@smirnova.example", ValueType: "WORK"}}, Webs: []crm.Comm{}},
			Address: crm.Address{Street: "Невский пр.", House: "1", Flat: "кв. 12", City: "Санкт-Петербург", Postcode: "191186", Country: "Россия"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			in, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			var c crm.Contact
			Apply(in, &c)
			c.ID = 7
			c.UpdatedAt = time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
			for _, f := range []struct {
				name      string
				got, want any
			}{
				{"names", [3]string{c.LastName, c.Name, c.SecondName}, [3]string{tc.want.LastName, tc.want.Name, tc.want.SecondName}},
				{"position", c.Position, tc.want.Position},
				{"birthdate", c.Birthdate, tc.want.Birthdate},
				{"comments", c.Comments, tc.want.Comments},
				{"phones", c.Phones, tc.want.Phones},
				{"emails", c.Emails, tc.want.Emails},
				{"webs", c.Webs, tc.want.Webs},
				{"address", c.Address, tc.want.Address},
			} {
				if !equalJSON(f.got, f.want) {
					t.Errorf("%s: got %+v, want %+v", f.name, f.got, f.want)
				}
			}
			out, err := Render(c, tc.org, Stored{UID: in.Value(vcard.FieldUID), Raw: string(raw)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Bytes(out)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(tc.file, ".vcf")+".out.vcf")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rendered card differs from %s:\n%s", golden, got)
			}
			// Every property the CRM has no field for comes back as sent.
			for k, fs := range in {
				if mapped[k] {
					continue
				}
				if !equalJSON(out[k], fs) {
					t.Errorf("%s: got %+v, want %+v", k, out[k], fs)
				}
			}
			// A client sending the rendered card back changes nothing.
			again, err := Parse(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			c2 := c
			Apply(again, &c2)
			if !equalJSON(c2, c) {
				t.Errorf("the rendered card read back changes the contact:\n%+v\n%+v", c2, c)
			}
			out2, err := Render(c2, tc.org, Stored{UID: in.Value(vcard.FieldUID), Raw: string(got)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got2, _ := Bytes(out2)
			if !bytes.Equal(got2, got) {
				t.Errorf("second round trip differs:\n%s", got2)
			}
		})
	}
}

// TestRenderCRMChanges: a change made in the CRM replaces the stored
// field's value but keeps its group; a new contact gets a card of its own.
func TestRenderCRMChanges(t *testing.T) {
	raw, err := os.ReadFile("testdata/apple-4.0.vcf")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := Parse(bytes.NewReader(raw))
	var c crm.Contact
	Apply(in, &c)
	c.ID = 9
	c.Emails[0].Value = "anna@new.example"
	c.Birthdate = "1990-03-17"
	c.LastName = "Иванова"
	out, err := Render(c, "", Stored{Raw: string(raw)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Bytes(out)
	for _, want := range []string{"EMAIL;TYPE=work:anna@new.example", "FN:Анна Иванова", "N:Иванова;Анна;;;", "BDAY:19900317", "UID:obmen-contact-9", "item1.X-ABLABEL:Личная"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
	fresh, err := Render(crm.Contact{Meta: crm.Meta{ID: 3}, Name: "Олег", Comms: crm.Comms{Phones: []crm.Comm{{Value: "+79161234567", ValueType: "MOBILE"}}}}, "ООО Ромашка", Stored{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = Bytes(fresh)
	for _, want := range []string{"VERSION:3.0", "FN:Олег", "N:;Олег;;;", "TEL;TYPE=cell:+79161234567", "ORG:ООО Ромашка", "UID:obmen-contact-3"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no BEGIN:VCARD"},
		{"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n", "no END"},
		{"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nEND:VCARD\r\n", "VERSION \"2.1\""},
		{"BEGIN:VCARD\r\nVERSION:3.0\r\nthis is not a line\r\nEND:VCARD\r\n", "vCard line 3"},
		{"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xff\r\nEND:VCARD\r\n", "not UTF-8"},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParse: no card makes Parse, Apply, Render or Encode panic, and a
// card that parses renders to one that parses again.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/thunderbird-3.0.vcf", "testdata/apple-4.0.vcf"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nN:a\\;b;c\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nPHOTO:data:image/png;base64,aGVsbG8=\r\nEND:VCARD\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		var c crm.Contact
		Apply(in, &c)
		if pic, ok, err := InlinePhoto(in); ok && err == nil {
			// The card as kept (its picture out) reads back.
			kept, err := Bytes(ForStorage(in, PhotoSHA256(pic)))
			if err != nil {
				t.Fatalf("encode the kept card: %v", err)
			}
			if _, err := Parse(bytes.NewReader(kept)); err != nil {
				t.Fatalf("the kept card does not parse: %v\n%s", err, kept)
			}
		}
		out, err := Render(c, "org", Stored{Raw: string(b)}, nil)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		enc, err := Bytes(out)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if _, err := Parse(bytes.NewReader(enc)); err != nil {
			t.Fatalf("the rendered card does not parse: %v\n%s", err, enc)
		}
	})
}
