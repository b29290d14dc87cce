package bitrix_test

import (
	"bytes"
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
