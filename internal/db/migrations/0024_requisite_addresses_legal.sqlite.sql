-- The legal addresses requisites already have (see 0024_requisite_addresses.sql).
INSERT INTO requisite_addresses (requisite_id, type_id, address_1, address_2, city, postal_code, province, country)
    SELECT id, 6,
        trim(COALESCE(json_extract(address, '$.street'), '') ||
            CASE WHEN COALESCE(json_extract(address, '$.street'), '') <> '' AND COALESCE(json_extract(address, '$.house'), '') <> '' THEN ', ' ELSE '' END ||
            COALESCE(json_extract(address, '$.house'), '')),
        COALESCE(json_extract(address, '$.flat'), ''), COALESCE(json_extract(address, '$.city'), ''),
        COALESCE(json_extract(address, '$.postcode'), ''), COALESCE(json_extract(address, '$.region'), ''),
        COALESCE(json_extract(address, '$.country'), '')
    FROM requisites
    WHERE address <> '' AND address <> '{}' AND json_valid(address)
        AND (COALESCE(json_extract(address, '$.street'), '') || COALESCE(json_extract(address, '$.house'), '') ||
            COALESCE(json_extract(address, '$.flat'), '') || COALESCE(json_extract(address, '$.city'), '') ||
            COALESCE(json_extract(address, '$.postcode'), '') || COALESCE(json_extract(address, '$.region'), '') ||
            COALESCE(json_extract(address, '$.country'), '')) <> '';
