package main

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/obmen/obmen/internal/intake/mail/dovecottest"
)

// TestClusterMail: one mailbox on a real Dovecot, its collector run by
// three instances — the periodic collection every second on whichever
// instance River gives it, and "run now" asked of all three at once —
// makes one lead of each letter and moves each letter to the processed
// folder once. The instance at work on the mailbox (the one with an
// IMAP connection open) is killed with SIGKILL mid-run: the collector
// is let go after its lease (OBMEN_JOB_RESCUE_AFTER) and another
// instance finishes the letters, the ones the killed run had written a
// lead for but not yet moved making no second lead.
func TestClusterMail(t *testing.T) {
	dc := dovecottest.Start(t)
	const login, n = "u1", 150
	imc, err := imapclient.DialInsecure(net.JoinHostPort("127.0.0.1", strconv.Itoa(dc.Port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer imc.Close()
	if err := imc.Login(login, dovecottest.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		order := fmt.Sprintf(`{"Тема": "Письмо %d", "Дата": "23.11.2026 10:00:00", "Телефон": "+7 925 001-%02d-%02d", "КонтактноеЛицо": "Иванов Иван",
 "Товары": [{"Номенклатура": "Баннер", "Количество": 1, "Цена": 4500, "Сумма": 4500}]}`, i, i/100, i%100)
		raw := fmt.Sprintf("From: site@example.ru\r\nTo: orders@example.ru\r\nSubject: ORDER: %d\r\nMessage-ID: <cluster%d@site>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nЗаявка\r\n"+
			"--XYZ\r\nContent-Type: application/json\r\nContent-Disposition: attachment; filename=\"order.json\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--XYZ--\r\n",
			i, i, base64.StdEncoding.EncodeToString([]byte(order)))
		cmd := imc.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	c := startCluster(t, 3, "OBMEN_OUTBOUND_ALLOW=127.0.0.1", "OBMEN_MAIL_INTERVAL=1s", "OBMEN_JOB_RESCUE_AFTER=7s", "OBMEN_AUTOMATION_STEP_TIMEOUT=1s")
	var col struct {
		ID int64 `json:"id"`
	}
	c.must(0, "POST", "/api/v1/intake/collectors", fmt.Sprintf(`{"name": "Заявки", "enabled": true, "host": "127.0.0.1", "port": %d, "security": "none",
		"login": %q, "password": %q, "user_id": 1, "processed_folder": "Done"}`, dc.Port, login, dovecottest.Password), http.StatusCreated, &col)
	// "Run now" on all three at once, while the periodic runs come: one
	// runs, the others find the collector busy.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b, err := c.do(i, "POST", fmt.Sprintf("/api/v1/intake/collectors/%d/run", col.ID), "", true)
			if err == nil && code != http.StatusOK && code != http.StatusConflict {
				t.Errorf("run now on instance %d: %d %s", i, code, b)
			}
		}()
	}
	// Kill the instance at work on the mailbox, mid-run.
	deadline := time.Now().Add(30 * time.Second)
	killed := -1
	for killed < 0 {
		if time.Now().After(deadline) {
			t.Fatal("no instance connected to the mailbox in 30 s")
		}
		if at := c.connectedTo(dc.Port); len(at) > 0 {
			time.Sleep(150 * time.Millisecond) // into its run
			killed = at[0]
			c.instance(killed).kill()
		}
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()

	leads := func() map[string]int {
		var page struct {
			Items []struct {
				Title string `json:"title"`
			} `json:"items"`
		}
		c.must(-1, "GET", "/api/v1/leads?limit=500", "", 200, &page)
		out := map[string]int{}
		for _, l := range page.Items {
			out[l.Title]++
		}
		return out
	}
	done := func() uint32 {
		st, err := imc.Status("Done", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || st.NumMessages == nil {
			return 0
		}
		return *st.NumMessages
	}
	deadline = time.Now().Add(60 * time.Second)
	for len(leads()) < n || done() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d leads of %d letters, %d letters moved (instance %d killed)", len(leads()), n, done(), killed)
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a second run's copies would show
	got := leads()
	for i := range n {
		if k := got[fmt.Sprintf("Письмо %d", i)]; k != 1 {
			t.Errorf("letter %d made %d leads, want 1", i, k)
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct lead titles, want %d", len(got), n)
	}
	if k := done(); k != n {
		t.Errorf("the processed folder has %d letters, want %d (moved twice?)", k, n)
	}
	t.Logf("instance %d killed mid-run", killed)
}
