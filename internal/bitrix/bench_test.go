package bitrix_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkLeadAdd is crm.lead.add over loopback HTTP on SQLite, from
// concurrent clients (as shops post orders), form-encoded with a phone
// and an e-mail: go test -run x -bench LeadAdd ./internal/bitrix/
func BenchmarkLeadAdd(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := q("fields[TITLE]", fmt.Sprintf("Заказ %d", i), "fields[NAME]", "Иван",
				"fields[PHONE][0][VALUE]", fmt.Sprintf("+7 925 %03d-%02d-%02d", i/10000%1000, i/100%100, i%100), "fields[PHONE][0][VALUE_TYPE]", "MOBILE",
				"fields[EMAIL][0][VALUE]", fmt.Sprintf("c%d@example.ru", i), "fields[SOURCE_ID]", "WEB", "fields[OPPORTUNITY]", "1500.50")
			res, err := client.Post(e.base+"crm.lead.add.json", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d: %s", res.StatusCode, out)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkBatch50 is one batch of 50 crm.lead.add commands over HTTP.
func BenchmarkBatch50(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	var cmds []string
	for i := range 50 {
		cmds = append(cmds, fmt.Sprintf("cmd[a%d]", i), "crm.lead.add?"+q("fields[TITLE]", fmt.Sprintf("Заказ %d", i),
			"fields[PHONE][0][VALUE]", fmt.Sprintf("+7 925 000-00-%02d", i)))
	}
	body := []byte(q(cmds...))
	b.ResetTimer()
	for range b.N {
		res, err := e.client.Post(e.base+"batch", "application/x-www-form-urlencoded", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result_error":[]`)) {
			b.Fatalf("status %d: %.300s", res.StatusCode, out)
		}
	}
	b.ReportMetric(float64(b.N*50)/b.Elapsed().Seconds(), "leads/s")
}

// BenchmarkOrderBatch is one order as the Bitrix24 connector sends it
// (issue 16): one batch of findbycomm, contact, company with requisites
// and bank details, the deal referring to them by $result[…], its product
// rows and a timeline comment, over HTTP on SQLite. The server's side of
// the connector's throughput: go test -run x -bench OrderBatch ./internal/bitrix/
func BenchmarkOrderBatch(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	b.ResetTimer()
	for i := range b.N {
		phone := fmt.Sprintf("+7 921 %03d-%02d-%02d", i/10000%1000, i/100%100, i%100)
		body := q(
			"halt", "1",
			"cmd[find]", "crm.duplicate.findbycomm?"+q("entity_type", "CONTACT", "type", "PHONE", "values[]", phone),
			"cmd[contact]", "crm.contact.add?"+q("fields[NAME]", "Ольга", "fields[PHONE][0][VALUE]", phone, "fields[PHONE][0][VALUE_TYPE]", "MOBILE",
				"fields[EMAIL][0][VALUE]", fmt.Sprintf("o%d@example.ru", i), "fields[EMAIL][0][VALUE_TYPE]", "HOME"),
			"cmd[company]", "crm.company.add?"+q("fields[TITLE]", fmt.Sprintf("ООО Фотомир %d", i)),
			"cmd[rq]", "crm.requisite.add?"+q("fields[ENTITY_TYPE_ID]", "4", "fields[ENTITY_ID]", "$result[company]", "fields[PRESET_ID]", "1",
				"fields[NAME]", "Реквизиты", "fields[RQ_INN]", "7707083893", "fields[RQ_KPP]", "773601001"),
			"cmd[bank]", "crm.requisite.bankdetail.add?"+q("fields[ENTITY_ID]", "$result[rq]", "fields[NAME]", "Счёт", "fields[RQ_BIK]", "044525225",
				"fields[RQ_ACC_NUM]", "40702810938000000001"),
			"cmd[deal]", "crm.deal.add?"+q("fields[TITLE]", fmt.Sprintf("Заказ %d", i), "fields[CONTACT_ID]", "$result[contact]",
				"fields[COMPANY_ID]", "$result[company]", "fields[OPPORTUNITY]", "4500.50", "fields[CURRENCY_ID]", "RUB",
				"fields[SOURCE_ID]", "WEB", "fields[SOURCE_DESCRIPTION]", "shop.example.ru", "fields[BEGINDATE]", "2026-12-01"),
			"cmd[rows]", "crm.deal.productrows.set?"+q("id", "$result[deal]",
				"rows[0][PRODUCT_NAME]", "Фотокнига", "rows[0][PRICE]", "2000.25", "rows[0][QUANTITY]", "2",
				"rows[1][PRODUCT_NAME]", "Доставка", "rows[1][PRICE]", "500", "rows[1][QUANTITY]", "1"),
			"cmd[comment]", "crm.timeline.comment.add?"+q("fields[ENTITY_ID]", "$result[deal]", "fields[ENTITY_TYPE]", "deal", "fields[COMMENT]", "Заказ с сайта"),
		)
		res, err := e.client.Post(e.base+"batch", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"result_error":[]`)) {
			b.Fatalf("status %d: %.600s", res.StatusCode, out)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkAuth is a call's authentication: a webhook's code (compared
// with each of the user's webhooks) against an OAuth access token (looked
// up by its hash), both on server.time over HTTP on SQLite:
// go test -run x -bench Auth ./internal/bitrix/
func BenchmarkAuth(b *testing.B) {
	e := newEnv(b, storetest.OpenSQLite(b))
	ctx := context.Background()
	if _, _, err := e.h.Webhooks().CreateApp(ctx, e.hook.ID); err != nil {
		b.Fatal(err)
	}
	tok, err := e.h.Webhooks().IssueTokens(ctx, e.hook.ID)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, url string }{
		{"webhook", e.base + "server.time.json"},
		{"token", e.srv.URL + "/rest/server.time.json?auth=" + tok.AccessToken},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				res, err := e.client.Get(c.url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
