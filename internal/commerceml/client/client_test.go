package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/commerceml"
	"github.com/obmen/obmen/internal/commerceml/client"
	"github.com/obmen/obmen/internal/commerceml/exchange"
	"github.com/obmen/obmen/internal/config"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestClientAgainstObmen plays a whole exchange with the client against
// a running Obmen (the real app over loopback HTTP) on both engines.
func TestClientAgainstObmen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		cfg := config.Default()
		cfg.AdminPassword = "admin-password"
		cfg.DataDir = t.TempDir()
		a, err := app.NewServer(d, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := app.EnsureAdmin(ctx, a.Store, cfg, io.Discard); err != nil {
			t.Fatal(err)
		}
		a.CommerceML.SetAuthLimiter(httpx.NewLimiter(time.Millisecond, 1000))
		srv := httptest.NewServer(a.Handler)
		t.Cleanup(func() { srv.Close(); a.CommerceML.Close() })
		u, err := a.Store.UserByLogin(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		admin := crm.Actor{UserID: u.ID}
		_, key, err := a.Store.CreateAPIKey(ctx, admin, u.ID, "1c")
		if err != nil {
			t.Fatal(err)
		}
		set := exchange.DefaultSettings()
		set.Enabled, set.Zip, set.FileLimit, set.StepMillis, set.Version = true, false, 1000, 1, "2.07"
		b, _ := json.Marshal(set)
		req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/exchanges/settings", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("settings: %v %v", res, err)
		}

		bad := &client.Client{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: "wrong"}
		var fe *client.Error
		if err := bad.Checkauth(ctx, "catalog"); !errors.As(err, &fe) || fe.Mode != "checkauth" || fe.Reason == "" {
			t.Fatalf("wrong password: %v", err)
		}

		c := &client.Client{URL: srv.URL + "/1c_exchange.php", Login: "admin", Password: key}
		if _, err := c.Import(ctx, "catalog", "import.xml", nil); err == nil {
			t.Fatal("import without a session succeeded")
		}
		if err := c.Checkauth(ctx, "catalog"); err != nil {
			t.Fatal(err)
		}
		zip, limit, err := c.Init(ctx, "catalog")
		if err != nil || zip || limit != 1000 {
			t.Fatalf("init: zip=%v limit=%d %v", zip, limit, err)
		}
		// Both files first, then their imports, as 1C does; each file is
		// over 5 KB, so it goes in several chunks.
		for _, f := range []string{"import_207.xml", "offers_207.xml"} {
			data, err := os.ReadFile("../testdata/" + f)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Upload(ctx, "catalog", strings.Replace(f, "_207", "", 1), bytes.NewReader(data)); err != nil {
				t.Fatalf("upload %s: %v", f, err)
			}
		}
		for _, f := range []string{"import.xml", "offers.xml"} {
			if _, err := c.Import(ctx, "catalog", f, nil); err != nil {
				t.Fatalf("import %s: %v", f, err)
			}
		}
		// A file that was never uploaded is the site's failure, as an *Error.
		if _, err := c.Import(ctx, "catalog", "missing.xml", nil); !errors.As(err, &fe) || fe.Mode != "import" {
			t.Fatalf("missing file: %v", err)
		}
		p, err := a.Store.FindProduct(ctx, "Дрель ударная", "DR-500")
		if err != nil || p.Price == 0 || p.ExternalIDs["1c"] == "" {
			t.Fatalf("product after the exchange: %+v %v", p, err)
		}

		// Orders: one made by hand goes out; after success, nothing.
		o, err := a.Store.CreateSalesOrder(ctx, admin, crm.SalesOrder{Items: []crm.LineItem{{ProductID: p.ID, Quantity: 2000}}})
		if err != nil {
			t.Fatal(err)
		}
		s := &client.Client{URL: c.URL, Login: "admin", Password: key}
		if err := s.Checkauth(ctx, "sale"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Init(ctx, "sale"); err != nil {
			t.Fatal(err)
		}
		body, err := s.Query(ctx)
		if err != nil {
			t.Fatal(err)
		}
		docs := documents(t, body)
		if len(docs) != 1 || docs[0].Number != o.Number || len(docs[0].Items) != 1 || docs[0].Items[0].Article != "DR-500" {
			t.Fatalf("query: %s", body)
		}
		if err := s.Mode(ctx, "sale", "success"); err != nil {
			t.Fatal(err)
		}
		if body, err = s.Query(ctx); err != nil || len(documents(t, body)) != 0 {
			t.Fatalf("second query: %v %s", err, body)
		}
	})
}

func documents(t *testing.T, body []byte) []*commerceml.Document {
	t.Helper()
	rd := commerceml.NewReader(bytes.NewReader(body), "orders.xml")
	var out []*commerceml.Document
	for {
		v, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("orders document: %v\n%s", err, body)
		}
		out = append(out, v.(*commerceml.Document))
	}
}
