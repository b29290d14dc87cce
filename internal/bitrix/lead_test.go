package bitrix_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
	"github.com/obmen/obmen/internal/store"
)

// declareFields adds the custom fields the tests use.
func (e *env) declareFields() {
	e.t.Helper()
	for _, f := range []crm.CustomField{
		{Entity: store.EntityLead, Code: "UF_CRM_SIZE", Label: "Размер, м²", Type: "number"},
		{Entity: store.EntityLead, Code: "UF_CRM_KIND", Label: "Вид", Type: "enum", Options: []string{"print", "banner"}},
		{Entity: store.EntityLead, Code: "UF_CRM_DUE", Label: "Срок", Type: "date"},
		{Entity: store.EntityLead, Code: "UF_CRM_URGENT", Label: "Срочно", Type: "bool"},
	} {
		if _, err := e.s.CreateCustomField(context.Background(), e.admin, f); err != nil {
			e.t.Fatal(err)
		}
	}
}

// titovLead is the lead of Bitrix24's crm.lead.add example, in Russian.
func titovLead(admin int64) map[string]any {
	return map[string]any{
		"fields": map[string]any{
			"TITLE": "ИП Титов", "NAME": "Глеб", "SECOND_NAME": "Егорович", "LAST_NAME": "Титов",
			"STATUS_ID": "NEW", "SOURCE_ID": "WEB", "OPENED": "Y", "ASSIGNED_BY_ID": admin,
			"CURRENCY_ID": "RUB", "OPPORTUNITY": 3751.25, "BIRTHDATE": "1990-01-15",
			"PHONE":   []any{map[string]any{"VALUE": "8 (925) 642-42-90", "VALUE_TYPE": "WORK"}},
			"EMAIL":   []any{map[string]any{"VALUE": "titov@example.ru", "VALUE_TYPE": "WORK"}},
			"WEB":     []any{map[string]any{"VALUE": "www.titov.ru", "VALUE_TYPE": "WORK"}},
			"IM":      []any{map[string]any{"VALUE": "@titov", "VALUE_TYPE": "TELEGRAM"}},
			"ADDRESS": "ул. Ленина, 1", "ADDRESS_CITY": "Тверь", "ADDRESS_POSTAL_CODE": "170100", "ADDRESS_PROVINCE": "Тверская обл.",
			"UTM_SOURCE": "yandex", "UTM_MEDIUM": "cpc", "COMMENTS": "Баннер 3×2",
			"UF_CRM_SIZE": 12.5, "UF_CRM_KIND": "banner", "UF_CRM_DUE": "23.11.2026", "UF_CRM_URGENT": "Y",
			"ORIGINATOR_ID": "pixlpark", "ORIGIN_ID": "A-100",
			"UF_CRM_UNKNOWN": "ignored, as Bitrix24 ignores undeclared fields",
		},
		"params": map[string]any{"REGISTER_SONET_EVENT": "Y"},
	}
}

func TestLeadLifecycle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.declareFields()
		add := e.ok(e.json("crm.lead.add", titovLead(e.admin.UserID)))
		idNum, ok := add.get(t, "result").(json.Number)
		if !ok {
			t.Fatalf("crm.lead.add result is not a number: %s", add.Body)
		}
		id := idNum.String()
		golden(t, "crm.lead.add", add)

		got := e.ok(e.get("crm.lead.get", "id="+id))
		golden(t, "crm.lead.get", got)
		for path, want := range map[string]string{
			"result/ID": id, "result/OPPORTUNITY": "3751.25", "result/HAS_PHONE": "Y", "result/STATUS_SEMANTIC_ID": "P",
			"result/ASSIGNED_BY_ID": strconv.FormatInt(e.admin.UserID, 10), "result/PHONE/0/VALUE": "8 (925) 642-42-90",
			"result/PHONE/0/TYPE_ID": "PHONE", "result/UF_CRM_SIZE": "12.5", "result/UF_CRM_DUE": "2026-11-23T00:00:00+03:00",
			"result/BIRTHDATE": "1990-01-15T00:00:00+03:00", "result/ORIGINATOR_ID": "pixlpark", "result/ORIGIN_ID": "A-100",
			"result/ADDRESS_PROVINCE": "Тверская обл.", "result/IS_MANUAL_OPPORTUNITY": "Y",
		} {
			if v := got.str(t, strings.Split(path, "/")...); v != want {
				t.Errorf("%s = %q, want %q", path, v, want)
			}
		}
		if v := got.get(t, "result", "UF_CRM_URGENT"); v != true {
			t.Errorf("UF_CRM_URGENT = %v, want true", v)
		}
		if v := got.get(t, "result", "HONORIFIC"); v != nil {
			t.Errorf("empty HONORIFIC = %v, want null", v)
		}
		phoneID := got.str(t, "result", "PHONE", "0", "ID")
		emailID := got.str(t, "result", "EMAIL", "0", "ID")

		// Update, form-encoded: change the phone by its ID, add one
		// without ID, delete the e-mail by an empty VALUE.
		upd := e.ok(e.form("crm.lead.update", "id="+id+"&"+q(
			"fields[TITLE]", "ИП Титов (баннер)",
			"fields[STATUS_ID]", "IN_PROCESS",
			"fields[PHONE][0][ID]", phoneID, "fields[PHONE][0][VALUE]", "+7 925 000-00-01",
			"fields[PHONE][n1][VALUE]", "8 800 555-35-35", "fields[PHONE][n1][VALUE_TYPE]", "MOBILE",
			"fields[EMAIL][0][ID]", emailID, "fields[EMAIL][0][VALUE]", "",
			"fields[UF_CRM_SIZE]", "",
			"fields[DATE_CREATE]", "2000-01-01T00:00:00+03:00", // read-only: ignored
		)))
		golden(t, "crm.lead.update", upd)
		got = e.ok(e.get("crm.lead.get", "id="+id))
		for path, want := range map[string]string{
			"result/TITLE": "ИП Титов (баннер)", "result/PHONE/0/ID": phoneID, "result/PHONE/0/VALUE": "+7 925 000-00-01",
			"result/PHONE/1/VALUE": "8 800 555-35-35", "result/PHONE/1/VALUE_TYPE": "MOBILE", "result/HAS_EMAIL": "N",
			"result/UF_CRM_SIZE": "", "result/UF_CRM_KIND": "banner", "result/WEB/0/VALUE": "www.titov.ru",
		} {
			if v := got.str(t, strings.Split(path, "/")...); v != want {
				t.Errorf("after update %s = %q, want %q", path, v, want)
			}
		}
		if _, ok := got.Doc.Lookup("result", "EMAIL"); ok {
			t.Errorf("EMAIL still answered after its only item was deleted: %s", got.Body)
		}
		if dc := got.str(t, "result", "DATE_CREATE"); strings.HasPrefix(dc, "2000") {
			t.Errorf("read-only DATE_CREATE was written: %s", dc)
		}

		// A second lead, by GET with the query string.
		e.ok(e.get("crm.lead.add", q("fields[TITLE]", "Сайт: заявка", "fields[NAME]", "Анна",
			"fields[EMAIL][0][VALUE]", "anna@example.ru", "fields[SOURCE_ID]", "WEBFORM", "fields[UF_CRM_KIND]", "print")))
		list := e.ok(e.get("crm.lead.list", q("order[ID]", "ASC", "select[]", "*", "select[]", "UF_*", "select[]", "PHONE", "select[]", "EMAIL")))
		golden(t, "crm.lead.list", list)
		if total := list.str(t, "total"); total != "2" {
			t.Fatalf("total %s", total)
		}
		if _, ok := list.Doc.Get("next"); ok {
			t.Fatalf("next on the only page: %s", list.Body)
		}

		golden(t, "crm.lead.fields", e.ok(e.get("crm.lead.fields", "")))

		bad := e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "x", "PHONE": []any{map[string]any{"VALUE": "12"}}}})
		e.fails(bad, http.StatusBadRequest, "", "PHONE[0][VALUE]")
		golden(t, "crm.lead.add.error", bad)
		e.fails(e.json("crm.lead.update", map[string]any{"id": id, "fields": map[string]any{"STATUS_ID": "NOPE"}}), http.StatusBadRequest, "", "STATUS_ID")
		e.fails(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "x", "UF_CRM_KIND": "poster"}}), http.StatusBadRequest, "", "UF_CRM_KIND")
		e.fails(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "x", "OPPORTUNITY": "много"}}), http.StatusBadRequest, "", "OPPORTUNITY")
		e.fails(e.json("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "x", "ASSIGNED_BY_ID": 999}}), http.StatusBadRequest, "", "ASSIGNED_BY_ID")
		e.fails(e.json("crm.lead.add", map[string]any{"fields": map[string]any{}}), http.StatusBadRequest, "", "TITLE")
		notFound := e.get("crm.lead.get", "id=999999")
		e.fails(notFound, http.StatusBadRequest, "", "Not found")
		golden(t, "crm.lead.get.notfound", notFound)
		e.fails(e.get("crm.lead.get", "id=abc"), http.StatusBadRequest, "", "ID is not defined or invalid")
		e.fails(e.get("crm.lead.update", "id=999999&fields[TITLE]=x"), http.StatusBadRequest, "", "Not found")

		if v := e.ok(e.get("crm.lead.delete", "ID="+id)).get(t, "result"); v != true {
			t.Fatalf("delete result %v", v)
		}
		e.fails(e.get("crm.lead.get", "id="+id), http.StatusBadRequest, "", "Not found")
		e.fails(e.get("crm.lead.delete", "id="+id), http.StatusBadRequest, "", "Not found")
		if total := e.ok(e.get("crm.lead.list", "")).str(t, "total"); total != "1" {
			t.Fatalf("deleted lead still listed: total %s", total)
		}

		// Writes are made as the webhook's user through the integration
		// named after the webhook.
		n, _ := strconv.ParseInt(id, 10, 64)
		evs, err := e.s.Events(context.Background(), events.Query{Entity: store.EntityLead, RecordID: n})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Fatalf("%d events, want create, update, delete", len(evs))
		}
		for _, ev := range evs {
			if ev.ActorUserID != e.admin.UserID || ev.Integration != fmt.Sprintf("bitrix-webhook:%d", e.hook.ID) {
				t.Fatalf("event %s by %d/%q", ev.Action, ev.ActorUserID, ev.Integration)
			}
		}
	})
}

// The three encodings Bitrix24 takes — the query string, a form body and
// JSON — make the same lead.
func TestParameterEncodings(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		formBody := q("fields[TITLE]", "Заявка & вопрос", "fields[OPPORTUNITY]", "1500,50",
			"fields[PHONE][0][VALUE]", "+7 (495) 123-45-67", "fields[PHONE][0][VALUE_TYPE]", "MOBILE",
			"fields[PHONE][1][VALUE]", "8 916 000 11 22",
			"fields[EMAIL][n0][VALUE]", "Info@Example.RU", "fields[UTM_CAMPAIGN]", "весна")
		jsonBody := `{"fields":{"TITLE":"Заявка & вопрос","OPPORTUNITY":"1500.50",
			"PHONE":[{"VALUE":"+7 (495) 123-45-67","VALUE_TYPE":"MOBILE"},{"VALUE":"8 916 000 11 22"}],
			"EMAIL":{"n0":{"VALUE":"Info@Example.RU"}},"UTM_CAMPAIGN":"весна"}}`
		var answers []string
		for _, a := range []answer{e.get("crm.lead.add", formBody), e.form("crm.lead.add", formBody), e.json("crm.lead.add", jsonBody)} {
			id := e.ok(a).str(t, "result")
			got := e.ok(e.get("crm.lead.get", "id="+id))
			b, _ := normalize(got.get(t, "result"), "").(*bitrix.Array).MarshalJSON()
			answers = append(answers, string(b))
			if v := got.str(t, "result", "PHONE", "1", "VALUE_TYPE"); v != "WORK" {
				t.Errorf("default VALUE_TYPE %q", v)
			}
		}
		if answers[0] != answers[1] || answers[1] != answers[2] {
			t.Fatalf("encodings differ:\nGET  %s\nform %s\nJSON %s", answers[0], answers[1], answers[2])
		}
		// Multipart forms (files are not taken) and .json-less paths work too.
		body := "--b\r\nContent-Disposition: form-data; name=\"fields[TITLE]\"\r\n\r\nИз формы\r\n--b--\r\n"
		req, _ := http.NewRequest(http.MethodPost, e.base+"crm.lead.add", strings.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		id := e.ok(e.do(req)).str(t, "result")
		if title := e.ok(e.get("crm.lead.get", "id="+id)).str(t, "result", "TITLE"); title != "Из формы" {
			t.Fatalf("multipart title %q", title)
		}
		e.fails(e.json("crm.lead.add", `{"fields":`), http.StatusBadRequest, "INVALID_REQUEST", "JSON")
	})
}

func TestLeadListFiltersAndPaging(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.declareFields()
		ctx := context.Background()
		// 120 leads: every tenth converted-like (JUNK or CONVERTED), amounts 0..119 × 100.
		for i := range 120 {
			status := "NEW"
			switch {
			case i%10 == 3:
				status = "JUNK"
			case i%10 == 7:
				status = "CONVERTED"
			}
			l := crm.Lead{Title: fmt.Sprintf("Лид %03d", i), Name: []string{"Анна", "Борис", "Вера"}[i%3], StatusID: status,
				Opportunity: crm.Amount(i * 10000), UTM: crm.UTM{UTMSource: []string{"yandex", "google", ""}[i%3]}}
			if i%4 == 0 {
				l.Phones = []crm.Comm{{Value: fmt.Sprintf("+7 925 000-%02d-%02d", i/100, i%100)}}
			}
			if i%5 == 0 {
				l.Custom = map[string]any{"UF_CRM_SIZE": json.Number(strconv.Itoa(i)), "UF_CRM_KIND": "print", "UF_CRM_DUE": fmt.Sprintf("2026-01-%02d", i%28+1)}
			}
			if _, err := e.s.CreateLead(ctx, e.admin, l); err != nil {
				t.Fatal(err)
			}
		}

		first := e.ok(e.get("crm.lead.list", ""))
		if first.str(t, "total") != "120" || first.str(t, "next") != "50" || len(first.get(t, "result").(*bitrix.Array).Keys()) != 50 {
			t.Fatalf("first page: total %s next %s", first.str(t, "total"), first.str(t, "next"))
		}
		last := e.ok(e.get("crm.lead.list", "start=100"))
		if n := last.get(t, "result").(*bitrix.Array).Len(); n != 20 {
			t.Fatalf("last page has %d", n)
		}
		if _, ok := last.Doc.Get("next"); ok {
			t.Fatalf("next on the last page")
		}
		if last.str(t, "result", "0", "TITLE") != "Лид 100" {
			t.Fatalf("start=100 begins with %s", last.str(t, "result", "0", "TITLE"))
		}
		fast := e.ok(e.json("crm.lead.list", `{"start":-1,"order":{"ID":"ASC"},"filter":{">ID":50},"select":["ID","TITLE"]}`))
		if fast.str(t, "total") != "0" || fast.get(t, "result").(*bitrix.Array).Len() != 50 {
			t.Fatalf("start=-1: total %s, %d rows", fast.str(t, "total"), fast.get(t, "result").(*bitrix.Array).Len())
		}
		if _, ok := fast.Doc.Get("next"); ok {
			t.Fatalf("next with start=-1")
		}
		row := fast.get(t, "result", "0").(*bitrix.Array)
		if keys := strings.Join(row.Keys(), ","); keys != "ID,TITLE" {
			t.Fatalf("select ID, TITLE answered %s", keys)
		}

		for _, tc := range []struct {
			name       string
			query      []string
			total      int
			firstTitle string
		}{
			{"eq", []string{"filter[STATUS_ID]", "JUNK"}, 12, "Лид 003"},
			{"eq explicit", []string{"filter[=STATUS_ID]", "CONVERTED"}, 12, "Лид 007"},
			{"ne", []string{"filter[!STATUS_ID]", "NEW"}, 24, "Лид 003"},
			{"ne explicit", []string{"filter[!=STATUS_ID]", "NEW"}, 24, "Лид 003"},
			{"in", []string{"filter[@STATUS_ID][]", "JUNK", "filter[@STATUS_ID][]", "CONVERTED"}, 24, "Лид 003"},
			{"list is in", []string{"filter[STATUS_ID][0]", "JUNK", "filter[STATUS_ID][1]", "CONVERTED"}, 24, "Лид 003"},
			{"not in", []string{"filter[!@STATUS_ID][]", "NEW", "filter[!@STATUS_ID][]", "JUNK"}, 12, "Лид 007"},
			{"gt amount", []string{"filter[>OPPORTUNITY]", "11000"}, 9, "Лид 111"},
			{"gte amount", []string{"filter[>=OPPORTUNITY]", "11000.00"}, 10, "Лид 110"},
			{"lt and lte", []string{"filter[<OPPORTUNITY]", "500", "filter[<=ID]", "3"}, 3, "Лид 000"},
			{"like", []string{"filter[%TITLE]", "д 11"}, 10, "Лид 110"},
			{"like escapes", []string{"filter[%TITLE]", "%"}, 0, ""},
			{"not like", []string{"filter[!%TITLE]", "Лид 0"}, 20, "Лид 100"},
			{"raw like", []string{"filter[=%TITLE]", "Лид 1_9"}, 2, "Лид 109"},
			{"raw not like", []string{"filter[!=%TITLE]", "Лид 0%"}, 20, "Лид 100"},
			{"empty text", []string{"filter[UTM_SOURCE]", ""}, 40, "Лид 002"},
			{"semantic S", []string{"filter[STATUS_SEMANTIC_ID]", "S"}, 12, "Лид 007"},
			{"semantic P", []string{"filter[STATUS_SEMANTIC_ID]", "P"}, 96, "Лид 000"},
			{"semantic not F", []string{"filter[!STATUS_SEMANTIC_ID]", "F"}, 108, "Лид 000"},
			{"has phone", []string{"filter[HAS_PHONE]", "Y"}, 30, "Лид 000"},
			{"no phone", []string{"filter[HAS_PHONE]", "N"}, 90, "Лид 001"},
			{"phone any format", []string{"filter[PHONE]", "8 (925) 000-01-04"}, 1, "Лид 104"},
			{"phone like", []string{"filter[%PHONE]", "000-01"}, 5, "Лид 100"},
			{"no such phone", []string{"filter[!PHONE]", "+79250000104"}, 119, "Лид 000"},
			{"custom number", []string{"filter[>UF_CRM_SIZE]", "100"}, 3, "Лид 105"},
			{"custom enum", []string{"filter[UF_CRM_KIND]", "print"}, 24, "Лид 000"},
			{"custom not", []string{"filter[!UF_CRM_KIND]", "print"}, 96, "Лид 001"},
			{"custom date", []string{"filter[<=UF_CRM_DUE]", "2026-01-02"}, 2, "Лид 000"},
			{"custom in", []string{"filter[@UF_CRM_SIZE][]", "5", "filter[@UF_CRM_SIZE][]", "10"}, 2, "Лид 005"},
			{"date range", []string{"filter[>=DATE_CREATE]", "2000-01-01", "filter[<DATE_CREATE]", "2999-01-01T00:00:00+03:00"}, 120, "Лид 000"},
			{"assigned", []string{"filter[ASSIGNED_BY_ID]", strconv.FormatInt(e.admin.UserID, 10)}, 120, "Лид 000"},
			{"order desc", []string{"order[OPPORTUNITY]", "DESC", "filter[<ID]", "4"}, 3, "Лид 002"},
			{"order by name then id", []string{"order[NAME]", "ASC", "order[ID]", "DESC"}, 120, "Лид 117"},
			{"lower-case method params", []string{"FILTER[STATUS_ID]", "JUNK"}, 12, "Лид 003"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := e.with(t).ok(e.with(t).get("crm.lead.list", q(tc.query...)))
				if got := a.str(t, "total"); got != strconv.Itoa(tc.total) {
					t.Fatalf("%s: total %s, want %d", tc.query, got, tc.total)
				}
				if tc.total > 0 {
					if got := a.str(t, "result", "0", "TITLE"); got != tc.firstTitle {
						t.Fatalf("%s: first %q, want %q", tc.query, got, tc.firstTitle)
					}
				}
			})
		}
		e.fails(e.get("crm.lead.list", "filter[NO_SUCH_FIELD]=1"), http.StatusBadRequest, "", "NO_SUCH_FIELD")
		e.fails(e.get("crm.lead.list", "filter[>OPPORTUNITY]=много"), http.StatusBadRequest, "", "OPPORTUNITY")
		e.fails(e.get("crm.lead.list", "filter[>DATE_CREATE]=вчера"), http.StatusBadRequest, "", "DATE_CREATE")
		e.fails(e.get("crm.lead.list", "filter[>PHONE]=1"), http.StatusBadRequest, "", "PHONE")
		e.fails(e.get("crm.lead.list", "filter[UF_CRM_NOPE]=1"), http.StatusBadRequest, "", "UF_CRM_NOPE")
		e.fails(e.get("crm.lead.list", "filter=x"), http.StatusBadRequest, "", "filter")
	})
}
