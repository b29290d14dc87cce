package schematest

import (
	"strings"
	"testing"
)

// valid is an orders document in the official element order.
const valid = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="%V" ДатаФормирования="2026-11-20T10:00:00">
	<Документ>
		<Ид>17</Ид>
		<Номер>SO-17</Номер>
		<Дата>2026-11-20</Дата>
		<ХозОперация>Заказ товара</ХозОперация>
		<Роль>Продавец</Роль>
		<Валюта>RUB</Валюта>
		<Курс>1</Курс>
		<Сумма>1000.00</Сумма>
		<Контрагенты>
			<Контрагент>
				<Ид>cp-1</Ид>
				<Наименование>ООО Ромашка</Наименование>
				<ОфициальноеНаименование>ООО Ромашка</ОфициальноеНаименование>
				<ИНН>7707083893</ИНН>
				<КПП>773601001</КПП>
				<Роль>Покупатель</Роль>
			</Контрагент>
		</Контрагенты>
		<Время>09:05:00</Время>
		<Товары>
			<Товар>
				<Ид>g-1</Ид>
				<Наименование>Дрель</Наименование>
				<БазоваяЕдиница Код="796">шт</БазоваяЕдиница>
				<ЗначенияРеквизитов>
					<ЗначениеРеквизита>
						<Наименование>ВидНоменклатуры</Наименование>
						<Значение>Товар</Значение>
					</ЗначениеРеквизита>
				</ЗначенияРеквизитов>
				<ЦенаЗаЕдиницу>1000.00</ЦенаЗаЕдиницу>
				<Количество>1</Количество>
				<Сумма>1000.00</Сумма>
			</Товар>
		</Товары>
	</Документ>
</КоммерческаяИнформация>
`

// The schemas refuse what Obmen used to write (issue 17), so a test that
// passes them means something.
func TestCheck(t *testing.T) {
	t.Parallel()
	move := func(doc, what, before string) string {
		doc = strings.Replace(doc, what, "", 1)
		return strings.Replace(doc, before, what+before, 1)
	}
	cases := []struct {
		name, doc, want string
	}{
		{"valid", valid, ""},
		{"ИНН/КПП after Роль", move(valid, "<Роль>Покупатель</Роль>\n\t\t\t\t", "<ИНН>"), "ИНН"},
		{"line requisites after the sum", move(valid, "<ЦенаЗаЕдиницу>1000.00</ЦенаЗаЕдиницу>\n\t\t\t\t<Количество>1</Количество>\n\t\t\t\t<Сумма>1000.00</Сумма>\n\t\t\t\t", "<ЗначенияРеквизитов>"), "ЗначенияРеквизитов"},
		{"Контейнер", strings.Replace(strings.Replace(valid, "\t<Документ>", "\t<Контейнер><Документ>", 1), "</Документ>", "</Документ></Контейнер>", 1), "Контейнер"},
		{"no namespace", strings.Replace(valid, ` xmlns="urn:1C.ru:commerceml_2"`, "", 1), "namespace"},
		{"no counterparty", strings.Replace(valid, "<Контрагент>", "<Контрагентт>", 1), "Контрагентт"},
		{"three fractional digits", strings.Replace(valid, "<Сумма>1000.00</Сумма>\n\t\t<Контрагенты>", "<Сумма>1000.005</Сумма>\n\t\t<Контрагенты>", 1), "Сумма"},
		{"no unit", strings.Replace(valid, `<БазоваяЕдиница Код="796">шт</БазоваяЕдиница>`, "", 1), "ЗначенияРеквизитов"},
	}
	for _, c := range cases {
		for _, v := range []string{"2.04", "2.08", "2.09", "2.10"} {
			err := Check([]byte(strings.Replace(c.doc, "%V", v, 1)))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s %s: %v", c.name, v, err)
			case c.want != "" && err == nil:
				t.Errorf("%s %s: accepted", c.name, v)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("%s %s: error %v does not name %s", c.name, v, err, c.want)
			}
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{"2.03": "2.08", "2.04": "2.08", "2.05": "2.08", "2.07": "2.08", "2.08": "2.08", "2.09": "2.09", "2.10": "2.10"} {
		if got := SchemaVersion(v); got != want {
			t.Errorf("SchemaVersion(%s) = %s, want %s", v, got, want)
		}
	}
}

// offers is a small offers document, valid against 1C's official schema.
const offers = `<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="%V" ДатаФормирования="2026-12-06T10:00:00">
	<ПакетПредложений СодержитТолькоИзменения="false">
		<Ид>c#offers</Ид>
		<Наименование>Пакет предложений</Наименование>
		<ИдКаталога>c</ИдКаталога>
		<Владелец>
			<Ид>org</Ид>
			<Наименование>Ромашка</Наименование>
			<ОфициальноеНаименование>ООО Ромашка</ОфициальноеНаименование>
		</Владелец>
		<ТипыЦен>
			<ТипЦены>
				<Ид>r</Ид>
				<Наименование>Розничная</Наименование>
			</ТипЦены>
		</ТипыЦен>
		<Предложения>
			<Предложение>
				<Ид>p1</Ид>
				<Наименование>Дрель</Наименование>
				<БазоваяЕдиница Код="796">шт</БазоваяЕдиница>
				<Цены>
					<Цена>
						<ИдТипаЦены>r</ИдТипаЦены>
						<ЦенаЗаЕдиницу>10.00</ЦенаЗаЕдиницу>
						<Единица>%U</Единица>
					</Цена>
				</Цены>
			</Предложение>
		</Предложения>
	</ПакетПредложений>
</КоммерческаяИнформация>
`

// The official schemas in testdata hold the offers to what 1C requires:
// a <Владелец>, and from 2.08 a price's unit as an ОКЕИ code; before 2.08
// (no official file: 2.08's with the unit a name) "шт" passes.
func TestOfficialOffers(t *testing.T) {
	t.Parallel()
	doc := func(v, unit, owner string) []byte {
		d := strings.NewReplacer("%V", v, "%U", unit).Replace(offers)
		if owner == "" {
			d = d[:strings.Index(d, "\t\t<Владелец>")] + d[strings.Index(d, "\t\t<ТипыЦен>"):]
		}
		return []byte(d)
	}
	for _, c := range []struct {
		v, unit, owner, want string
	}{
		{"2.10", "796", "yes", ""},
		{"2.08", "796", "yes", ""},
		{"2.05", "шт", "yes", ""},
		{"2.04", "шт", "yes", ""},
		{"2.10", "шт", "yes", "Единица"},
		{"2.08", "шт", "yes", "Единица"},
		{"2.10", "796", "", "ТипыЦен"},
		{"2.05", "шт", "", "ТипыЦен"},
	} {
		err := Check(doc(c.v, c.unit, c.owner))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s owner=%q: %v", c.v, c.unit, c.owner, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s owner=%q: want an error naming %s, got %v", c.v, c.unit, c.owner, c.want, err)
		}
	}
}
