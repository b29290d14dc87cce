-- The legal addresses requisites already have (see 0024_requisite_addresses.sql).
INSERT INTO requisite_addresses (requisite_id, type_id, address_1, address_2, city, postal_code, province, country)
    SELECT id, 6,
        trim(COALESCE(a->>'street', '') ||
            CASE WHEN COALESCE(a->>'street', '') <> '' AND COALESCE(a->>'house', '') <> '' THEN ', ' ELSE '' END ||
            COALESCE(a->>'house', '')),
        COALESCE(a->>'flat', ''), COALESCE(a->>'city', ''), COALESCE(a->>'postcode', ''),
        COALESCE(a->>'region', ''), COALESCE(a->>'country', '')
    FROM (SELECT id, address::jsonb AS a FROM requisites WHERE address <> '' AND address <> '{}') r
    WHERE (COALESCE(a->>'street', '') || COALESCE(a->>'house', '') || COALESCE(a->>'flat', '') || COALESCE(a->>'city', '') ||
        COALESCE(a->>'postcode', '') || COALESCE(a->>'region', '') || COALESCE(a->>'country', '')) <> '';
