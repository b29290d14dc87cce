package order_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/intake/order"
)

func TestParseSeedExample(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, charset string }{
		{"seed004.json", ""},
		{"seed004.json", "utf-8"},
		{"seed004.bom.json", ""},
		{"seed004.bom.json", "windows-1251"}, // the BOM wins over a wrong label
		{"seed004.cp1251.json", ""},
		{"seed004.cp1251.json", "windows-1251"},
		{"seed004.cp1251.json", "CP1251"},
	} {
		t.Run(tc.file+"/"+tc.charset, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			o, err := order.Parse(b, tc.charset, order.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if o.Subject != "Заказ №123 от 01.06.2019 бла бла бла" || o.INN != "7709745454" || o.Phone != "+7 925 642 42-90" ||
				o.Email != "adwcom@gmail.com" || o.ContactPerson != "Прилепский Алексей Анатольевич" {
				t.Errorf("header = %+v", o)
			}
			if want := time.Date(2019, 5, 29, 15, 15, 0, 0, time.FixedZone("MSK", 3*3600)); !o.Date.Equal(want) {
				t.Errorf("Date = %v, want %v", o.Date, want)
			}
			if len(o.LayoutFiles) != 2 || !strings.HasSuffix(o.LayoutFiles[0], "DAC_noyXsAEV-Cx.jpg") {
				t.Errorf("LayoutFiles = %v", o.LayoutFiles)
			}
			if len(o.Items) != 2 {
				t.Fatalf("Items = %d", len(o.Items))
			}
			it := o.Items[0]
			if it.Name != "Ролап 123 22 22" || it.MachineCode != "1" || it.Resolution != "360 dpi" || it.MaterialCode != "00-00000021" ||
				it.Width != "2" || it.Height != "2" || it.Quantity != "2" || it.Price != "500" || it.Sum != "1000" || it.Service {
				t.Errorf("Items[0] = %+v", it)
			}
			if len(it.ExtraWorks) != 3 || it.ExtraWorks[0] != (order.ExtraWork{Kind: "Люверсы", Quantity: "2", Description: "шаг 30см"}) {
				t.Errorf("ExtraWorks = %+v", it.ExtraWorks)
			}
			if d := o.Items[1]; d.Name != "Доставка" || !d.Service || d.Sum != "1000" {
				t.Errorf("Items[1] = %+v", d)
			}
		})
	}
}

func TestParseVariants(t *testing.T) {
	t.Parallel()
	o, err := order.Parse([]byte(`{"Телефон":"89256424290","Товары":[{"Номенклатура":"Баннер","Разрешение":"720 dpi","Ширина":"1,5","Цена":"1 200.50","Услуга":"да"}]}`), "", order.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it := o.Items[0]
	if it.Resolution != "720 dpi" || it.Width != "1.5" || it.Price != "1200.50" || !it.Service {
		t.Errorf("item = %+v", it)
	}
	o, err = order.Parse([]byte(`{"КонтактноеЛицо":"Иван","Дата":"01.02.2024"}`), "", order.Options{Location: time.UTC})
	if err != nil || o.Items != nil || !o.Date.Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("contact only: %+v, %v", o, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, charset string
		field               string
		line                int
		msg                 string
	}{
		{"syntax", "{\n\"Тема\": \"a\",\n\"ИНН\": 77,\n}", "", "", 4, "invalid JSON"},
		{"truncated", "{\n\"Тема\": \"a\"", "", "", 2, "unexpected end"},
		{"not object", `[1]`, "", "", 0, "want a JSON object"},
		{"trailing", `{"Тема":"a"} {}`, "", "", 1, "after the JSON object"},
		{"date", `{"Дата":"2019-05-29"}`, "", "Дата", 0, "dd.mm.yyyy"},
		{"inn", `{"ИНН":"12345"}`, "", "ИНН", 0, "10 or 12 digits"},
		{"phone type", `{"Телефон":{}}`, "", "Телефон", 0, "want text"},
		{"items type", `{"Товары":{}}`, "", "Товары", 0, "want an array"},
		{"item type", `{"Товары":[1]}`, "", "Товары[0]", 0, "want an object"},
		{"price", `{"Товары":[{"Номенклатура":"x","Цена":"дорого"}]}`, "", "Товары[0].Цена", 0, "not a number"},
		{"negative", `{"Товары":[{"Номенклатура":"x","Количество":-1}]}`, "", "Товары[0].Количество", 0, "negative"},
		{"service", `{"Товары":[{"Номенклатура":"x","Услуга":"может"}]}`, "", "Товары[0].Услуга", 0, "true or false"},
		{"name", `{"Товары":[{"Цена":1}]}`, "", "Товары[0].Номенклатура", 0, "required"},
		{"work", `{"Товары":[{"Номенклатура":"x","ДополнительныеРаботы":[{"Количество":"два"}]}]}`, "", "Товары[0].ДополнительныеРаботы[0].Количество", 0, "not a number"},
		{"layout", `{"ФайлыМакета":[1]}`, "", "ФайлыМакета[0]", 0, "Файл"},
		{"empty", `{}`, "", "", 0, "empty request"},
		{"bad utf8 declared", "{\"Тема\":\"\xcf\xf0\xe8\"}", "utf-8", "charset", 0, "not valid UTF-8"},
		{"charset", `{}`, "koi8-r", "charset", 0, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := order.Parse([]byte(tc.body), tc.charset, order.Options{})
			var oe *order.Error
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want *order.Error", err)
			}
			if oe.Field != tc.field || oe.Line != tc.line || !strings.Contains(oe.Message, tc.msg) {
				t.Errorf("err = %+v (%v), want field %q line %d message ~%q", oe, err, tc.field, tc.line, tc.msg)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"seed004.json", "seed004.cp1251.json", "seed004.bom.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
		f.Add(b, "windows-1251")
	}
	f.Add([]byte(`{"Товары":[{"Номенклатура":"x","Цена":"1e3"}]}`), "utf-8")
	f.Fuzz(func(t *testing.T, b []byte, charset string) {
		o, err := order.Parse(b, charset, order.Options{})
		if err != nil {
			var oe *order.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *order.Error", err)
			}
			return
		}
		for i, it := range o.Items {
			if it.Name == "" {
				t.Fatalf("item %d accepted without a name", i)
			}
			for _, n := range []string{it.Width, it.Height, it.Quantity, it.Price, it.Sum} {
				if strings.HasPrefix(n, "-") {
					t.Fatalf("negative number %q accepted", n)
				}
			}
		}
	})
}
