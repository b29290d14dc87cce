package db_test

import (
	"context"
	"testing"
)

// TestAddressesMigrationCopiesLegal fills requisites with addresses as
// Obmen kept them before 0024, applies 0024 and checks that each
// non-empty address became the requisite's legal typed address (type 6)
// and that empty ones made none.
func TestAddressesMigrationCopiesLegal(t *testing.T) {
	ctx := context.Background()
	eachBeforeMigration(t, 24, func(t *testing.T, m beforeMigration) {
		m.exec(`INSERT INTO requisites (id, entity, record_id, address, created_at) VALUES
			(1, 'account', 7, '{"postcode":"101000","country":"Россия","region":"Москва","city":"Москва","street":"ул. Ленина","house":"1","flat":"5"}', 1),
			(2, 'account', 7, '{}', 1),
			(3, 'contact', 8, '{"postcode":"","country":"","region":"","city":"","street":"","house":"","flat":""}', 1),
			(4, 'contact', 8, '{"house":"12"}', 1)`)
		if _, err := m.apply(); err != nil {
			t.Fatalf("migrate 0024: %v", err)
		}
		rows, err := m.Read.QueryContext(ctx, `SELECT requisite_id, type_id, address_1, address_2, city, postal_code, region, province, country
			FROM requisite_addresses ORDER BY requisite_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got [][9]string
		for rows.Next() {
			var r [9]string
			if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8]); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		want := [][9]string{
			{"1", "6", "ул. Ленина, 1", "5", "Москва", "101000", "", "Москва", "Россия"},
			{"4", "6", "12", "", "", "", "", "", ""},
		}
		if len(got) != len(want) {
			t.Fatalf("typed addresses after 0024: %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("row %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}
